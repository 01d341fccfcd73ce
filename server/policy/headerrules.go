package policy

import "regexp"

// Rule switches. methods.header_rules switches single rules of the checks
// on or off by name; the names belong to the checks that score them (the
// header rules in server/check/headers, formal_dsn/formal_mdn/
// formal_autoreply in server/check/formal, the lower-case sign names of
// server/check/structure). The policy package cannot know them without
// depending on every check, so Load accepts any well-formed name and
// LoadWith with Options.Rules refuses names no check knows.

// ruleName is the shape of a rule name.
var ruleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// EasternLanguages lists the languages of the Eastern encodings policy.
func EasternLanguages() []string { return []string{"chinese", "japanese", "korean", "thai"} }
