//go:build linux

package sendmailtest

import (
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      []string
	}{
		{"clean", "milter_set_option(macros.eom = {msg_id})\nXscilla: C=10\nXscilla: E=300\nADDRESS TEST MODE (ruleset 3 NOT automatically invoked)\n> \n", nil},
		{"unknown timeout letter", "Xscilla: E=300\nXscilla: W unknown\n/tmp/x/sendmail.cf: line 1341: Xscilla: unknown filter timeout W\n",
			[]string{"Xscilla: W unknown", "/tmp/x/sendmail.cf: line 1341: Xscilla: unknown filter timeout W"}},
		{"unknown option", "/tmp/x/sendmail.cf: line 57: readcf: DontBlameSendmail option: WorldWritableDirPathSafe unrecognized\n",
			[]string{"/tmp/x/sendmail.cf: line 57: readcf: DontBlameSendmail option: WorldWritableDirPathSafe unrecognized"}},
		{"unsafe socket", "/tmp/x/sendmail.cf: line 1341: Xscilla: local socket name /tmp/m.sock unsafe: World writable directory\n",
			[]string{"/tmp/x/sendmail.cf: line 1341: Xscilla: local socket name /tmp/m.sock unsafe: World writable directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := configErrors(tc.out); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("configErrors = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBaseMCKeepsEverythingInDir(t *testing.T) {
	mc := BaseMC("/tmp/sm-x", 2525, "127.0.0.1", "2599", "INPUT_MAIL_FILTER(`scilla', `S=unix:/tmp/m.sock')dnl\n")
	for _, want := range []string{
		"define(`QUEUE_DIR', `/tmp/sm-x/mqueue')dnl",
		"define(`confPID_FILE', `/tmp/sm-x/sendmail.pid')dnl",
		"define(`STATUS_FILE', `/tmp/sm-x/statistics')dnl",
		"define(`ALIAS_FILE', `/tmp/sm-x/aliases')dnl",
		"define(`confSERVICE_SWITCH_FILE', `/tmp/sm-x/service.switch')dnl",
		"DAEMON_OPTIONS(`Port=2525, Addr=127.0.0.1, Name=MTA')dnl",
		"define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl",
		"define(`ESMTP_MAILER_ARGS', `TCP $h 2599')dnl",
		"INPUT_MAIL_FILTER(`scilla', `S=unix:/tmp/m.sock')dnl\nMAILER(`local')dnl",
	} {
		if !strings.Contains(mc, want) {
			t.Errorf("BaseMC lacks %q:\n%s", want, mc)
		}
	}
}
