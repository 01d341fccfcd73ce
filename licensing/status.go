package licensing

import (
	"fmt"
	"time"
)

const noLicenseTail = "mail passes unfiltered, tagged X-Spamtest-Info: No License"

// stateText is the one-line summary of s at now.
func (m *Manager) stateText(s *snapshot, now time.Time) string {
	a := s.active
	switch s.mode {
	case modeActive:
		limits := limitsText(a.Key)
		if a.Builtin {
			return fmt.Sprintf("trial: built-in 30-day trial, %s (until %s), %s", daysLeft(a.Expires, now), day(a.Expires), limits)
		}
		return fmt.Sprintf("%s: %s key %s for %s, %s (until %s), %s", a.State, a.Key.Type, a.Key.Serial, a.Key.Licensee, daysLeft(a.Expires, now), day(a.Expires), limits)
	case modeExpired:
		return fmt.Sprintf("expired: key %s expired on %s; filtering continues, database updates released after that date are refused", a.Key.Serial, day(s.expiredAt))
	}
	switch {
	case a == nil:
		return "no licence: no key installed; " + noLicenseTail
	case a.Builtin:
		return fmt.Sprintf("no licence: the built-in trial ended on %s; %s", day(a.Expires), noLicenseTail)
	case a.State == "not yet valid":
		return fmt.Sprintf("no licence: key %s is valid from %s; %s", a.Key.Serial, day(a.Key.Issued), noLicenseTail)
	}
	return fmt.Sprintf("no licence: trial key %s expired on %s; %s", a.Key.Serial, day(a.Expires), noLicenseTail)
}

// warnings lists what needs the administrator's attention.
func (m *Manager) warnings(s *snapshot, now time.Time) []string {
	var ws []string
	switch s.mode {
	case modeNone:
		ws = append(ws, "no valid licence key: "+noLicenseTail+"; install a key with `scilla license install FILE`")
	case modeExpired:
		ws = append(ws, fmt.Sprintf("licence key %s expired on %s: database updates released after that date are refused; install a new key", s.active.Key.Serial, day(s.expiredAt)))
	case modeActive:
		switch left := s.active.Expires.Sub(now); {
		case left > warnBefore || s.reserve != nil:
		case s.active.Builtin:
			ws = append(ws, fmt.Sprintf("the built-in trial ends in %s (%s); install a licence key with `scilla license install FILE`", daysLeftShort(s.active.Expires, now), day(s.active.Expires)))
		default:
			ws = append(ws, fmt.Sprintf("licence expires in %s (%s) and no reserve key is installed", daysLeftShort(s.active.Expires, now), day(s.active.Expires)))
		}
	}
	if s.mode != modeNone {
		used := uint64(m.usage.count.Load())
		if w := limitWarning("protected mailboxes in the last 30 days", used, s.maxMailboxes, "new mailboxes pass unfiltered, tagged X-Spamtest-Info: License limit exceeded"); w != "" {
			ws = append(ws, w)
		}
		bytes := m.usage.day(dayNumber(now)).bytes.Load()
		if w := limitWarning("bytes of protected traffic today (UTC)", bytes, s.maxBytes, "the rest of today's mail passes unfiltered, tagged X-Spamtest-Info: License limit exceeded"); w != "" {
			ws = append(ws, w)
		}
	}
	return append(ws, s.problems...)
}

func limitWarning(what string, used, limit uint64, over string) string {
	switch {
	case limit == 0:
		return ""
	case used >= limit:
		return fmt.Sprintf("licence limit reached: %d of %d %s; %s", used, limit, what, over)
	case float64(used) >= warnFraction*float64(limit):
		return fmt.Sprintf("licence limit nearly reached: %d of %d %s (%d%%)", used, limit, what, used*100/limit)
	}
	return ""
}

func limitsText(k *Key) string {
	mb, tr := "unlimited protected mailboxes", "unlimited daily traffic"
	if k.MaxMailboxes > 0 {
		mb = fmt.Sprintf("up to %d protected mailboxes", k.MaxMailboxes)
	}
	if k.MaxDailyBytes > 0 {
		tr = fmt.Sprintf("up to %s of protected traffic a day", FormatBytes(k.MaxDailyBytes))
	}
	return mb + ", " + tr
}

// FormatBytes writes a byte count for people: "10 GiB", "512 KiB", "100 B".
func FormatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v == float64(uint64(v)) {
		return fmt.Sprintf("%d %s", uint64(v), units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func daysLeft(end, now time.Time) string { return daysLeftShort(end, now) + " left" }

// daysLeftShort is the time to end in whole days, rounded up, or hours
// when less than a day is left.
func daysLeftShort(end, now time.Time) string {
	left := end.Sub(now)
	if left < 24*time.Hour {
		return fmt.Sprintf("%d hours", int((left+time.Hour-1)/time.Hour))
	}
	d := int((left + 24*time.Hour - 1) / (24 * time.Hour))
	return fmt.Sprintf("%d days", d)
}
