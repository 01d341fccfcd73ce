package policy

// Header rule names for Methods.HeaderRules and the policy file's
// methods.header_rules (DESIGN §3). A check that scores a header rule asks
// Methods.RuleOn with one of these names; the policy loader refuses names
// not listed here so a typo cannot silently leave a rule on.
const (
	RuleUndisclosedRecipients = "undisclosed_recipients" // "undisclosed-recipients" in To
	RuleDigitsInFrom          = "digits_in_from"         // digits mixed with letters in From
	RuleDigitsInTo            = "digits_in_to"           // digits mixed with letters in To
	RuleAddressWithoutDomain  = "address_without_domain" // From/To address without a domain
	RuleLongSubject           = "long_subject"           // Subject longer than 250 characters
	RuleBlankSubject          = "blank_subject"          // Subject full of white space or dots
	RuleSubjectID             = "subject_id"             // Subject carrying a numeric id or timestamp
	RuleMissingDate           = "missing_date"           // no Date or an invalid one
	RuleMissingMessageID      = "missing_message_id"     // no Message-ID or an invalid one
	RuleFromMismatch          = "from_mismatch"          // envelope sender and From disagree
	RuleForgedMailer          = "forged_mailer"          // X-Mailer/User-Agent of a known forgery
)

// HeaderRuleNames lists every header rule that can be switched.
func HeaderRuleNames() []string {
	return []string{
		RuleUndisclosedRecipients, RuleDigitsInFrom, RuleDigitsInTo, RuleAddressWithoutDomain,
		RuleLongSubject, RuleBlankSubject, RuleSubjectID, RuleMissingDate, RuleMissingMessageID,
		RuleFromMismatch, RuleForgedMailer,
	}
}

// EasternLanguages lists the languages of the Eastern encodings policy.
func EasternLanguages() []string { return []string{"chinese", "japanese", "korean", "thai"} }
