// Package structure turns what the parser noticed about a message's form
// into scored signs: MIME malformations and limits (message.Anomalies) and
// HTML tricks (message.HTMLStats: hidden, tiny and same-colour text, words
// split by comments or tags, image-only mail, many links, link text showing
// another domain than the link goes to).
//
// Every sign can be switched off per group like a header rule: its rule
// name is the lower-case sign name (policy.Methods.RuleOn), e.g.
// "html_hidden_text" or "mime_multipart_unterminated".
package structure

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
)

// anomalySign is how one parser anomaly scores; a zero score reports
// nothing (the limit is the engine's own, not the sender's doing).
type anomalySign struct {
	score float64
	desc  string
}

var anomalySigns = map[string]anomalySign{
	message.AnomalySizeLimit:          {0, ""},
	message.AnomalyTextLimit:          {0, ""},
	message.AnomalyTimeout:            {0, ""},
	message.AnomalyDepth:              {2.0, "MIME nesting deeper than the limit"},
	message.AnomalyParts:              {2.0, "more MIME parts than the limit"},
	message.AnomalyHeaderTooBig:       {2.0, "header larger than the limit"},
	message.AnomalyDecodeLimit:        {1.0, "encoded content expands beyond the limit"},
	message.AnomalyHeaderContinuation: {1.0, "header starts with a folded line"},
	message.AnomalyHeaderMalformed:    {1.0, "malformed header line"},
	message.AnomalyHeader8bit:         {0.5, "raw 8-bit characters in the header"},
	message.AnomalyBadEncodedWord:     {0.5, "RFC 2047 word that does not decode"},
	message.AnomalyNoMIMEVersion:      {0.5, "MIME content without MIME-Version"},
	message.AnomalyBadContentType:     {1.0, "malformed Content-Type"},
	message.AnomalyNoBoundary:         {1.5, "multipart without a boundary"},
	message.AnomalyBoundaryMissing:    {1.5, "multipart boundary never occurs"},
	message.AnomalyUnterminated:       {1.0, "multipart without the closing boundary"},
	message.AnomalyEmptyMultipart:     {1.0, "multipart without parts"},
	message.AnomalyBadBase64:          {1.0, "invalid base64"},
	message.AnomalyBadQP:              {0.5, "invalid quoted-printable"},
	message.AnomalyUnknownEncoding:    {1.0, "unknown Content-Transfer-Encoding"},
	message.AnomalyUnknownCharset:     {1.0, "unknown charset"},
	message.AnomalyBadUTF8:            {0.3, "text declared UTF-8 that is not"},
	message.AnomalyUndeclared8bit:     {0.2, "8-bit text without a charset"},
	message.AnomalyNUL:                {1.0, "NUL bytes in text"},
	message.AnomalyBadDocument:        {0.5, "attachment that does not parse as its type"},
}

// SignName is the sign reported for a parser anomaly, e.g.
// "multipart_unterminated" → "MIME_MULTIPART_UNTERMINATED", "mime_depth" → "MIME_DEPTH".
func SignName(anomaly string) string {
	return "MIME_" + strings.ToUpper(strings.TrimPrefix(anomaly, "mime_"))
}

// HTML trick signs.
const (
	SignHiddenText     = "HTML_HIDDEN_TEXT"
	SignTinyText       = "HTML_TINY_TEXT"
	SignSameColor      = "HTML_SAME_COLOR"
	SignSplitWords     = "HTML_SPLIT_WORDS"
	SignCommentSplit   = "HTML_COMMENT_SPLIT"
	SignImageOnly      = "HTML_IMAGE_ONLY"
	SignManyLinks      = "HTML_MANY_LINKS"
	SignLinkMismatch   = "HTML_LINK_MISMATCH"
	SignEncodedLetters = "HTML_ENCODED_LETTERS"
	SignHTMLOnly       = "HTML_ONLY"
	SignRandomLetters  = "TEXT_RANDOM_LETTERS"
)

// Attachment signs.
const (
	SignExecutable       = "MIME_EXECUTABLE_ATTACHMENT"
	SignDecoyName        = "MIME_DOUBLE_EXTENSION"
	SignOfficeMacro      = "MIME_OFFICE_MACRO"
	SignMacroLure        = "MIME_OFFICE_MACRO_LURE"
	SignHTMLAttachment   = "HTML_ATTACHMENT"
	SignEncryptedArchive = "MIME_ENCRYPTED_ARCHIVE"
	SignQRLink           = "IMAGE_QR_LINK"
	SignPageScript       = "HTML_ATTACHMENT_SCRIPT"
)

// RuleNames lists the switch names of this check's signs: the lower-case
// sign names (policy.Methods.RuleOn).
func RuleNames() []string {
	var names []string
	for a, s := range anomalySigns {
		if s.score != 0 {
			names = append(names, strings.ToLower(SignName(a)))
		}
	}
	for _, n := range []string{SignHiddenText, SignTinyText, SignSameColor, SignSplitWords, SignCommentSplit,
		SignImageOnly, SignManyLinks, SignLinkMismatch, SignEncodedLetters, SignHTMLOnly, SignRandomLetters, SignExecutable, SignDecoyName, SignOfficeMacro, SignMacroLure, SignHTMLAttachment, SignEncryptedArchive, SignQRLink, SignPageScript} {
		names = append(names, strings.ToLower(n))
	}
	sort.Strings(names)
	return names
}

// Check scores the message's structure.
type Check struct{}

// New returns the structure check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "structure" }

// Run implements engine.Check.
func (*Check) Run(_ context.Context, in *engine.Input) (engine.Result, error) {
	m := in.Msg
	methods := &in.Group.Settings.Methods
	var res engine.Result
	method := "headers" // MIME form is a formal sign; HTML tricks are content
	add := func(name string, score float64, desc string) bool {
		if score == 0 || !methods.RuleOn(strings.ToLower(name)) {
			return false
		}
		res.Signs = append(res.Signs, engine.Sign{Name: name, Score: score, Desc: desc, Method: method})
		return true
	}
	for _, a := range m.Anomalies {
		if s, ok := anomalySigns[a]; ok {
			add(SignName(a), s.score, s.desc)
		}
	}
	method = "content"
	h := m.HTML
	if h.Parts > 0 {
		visible := max(h.VisibleChars, 1)
		if h.HiddenChars >= 20 && h.HiddenChars*10 >= visible {
			add(SignHiddenText, 1.5, "HTML text hidden from the reader")
		}
		if h.TinyChars >= 20 && h.TinyChars*10 >= visible {
			add(SignTinyText, 1.0, "HTML text too small to read")
		}
		if h.SameColorChars >= 10 {
			add(SignSameColor, 1.5, "HTML text in the colour of its background")
		}
		if h.CommentSplits >= 2 {
			add(SignCommentSplit, 2.0, "words split by HTML comments")
		} else if h.SplitWords >= 8 && h.SplitWords*60 >= max(m.Words, 1) {
			add(SignSplitWords, 1.0, "words split by HTML tags")
		}
		if h.Links >= 20 && h.Links*4 > max(m.Words, 1) {
			add(SignManyLinks, 0.2, "many links for little text")
		}
		if h.LinkMismatch > 0 {
			add(SignLinkMismatch, 0.3, "link text shows another domain than the link")
		}
		if h.EncodedLetters >= 20 && h.EncodedLetters*10 > h.VisibleChars {
			add(SignEncodedLetters, 1.0, "letters hidden behind HTML character references")
		}
		// Today's notices of banks, couriers and shops come as HTML alone,
		// so the sign does not back the classifier (engine.Sign.Alone):
		// with nothing else, it counts its built-in 0.3.
		if htmlOnly(m) && add(SignHTMLOnly, 0.3, "HTML without a plain-text alternative") {
			res.Signs[len(res.Signs)-1].Alone = 0.3
		}
	}
	if m.ImageOnly() {
		add(SignImageOnly, 1.5, "images and almost no text")
	}
	if randomWord(m.Subject) != "" || randomWord(m.Text) != "" {
		add(SignRandomLetters, 1.5, "a word of random letters, which makes each copy unlike the others to filters")
	}
	k := attachmentKinds(m)
	// A program, attached or dressed as a document, counts as a forgery
	// like a borrowed name (engine.Sign.Forged): a dropper's two lines are
	// a pretext, or ride a hijacked reply chain whose quoted words the
	// classifier rates legitimate, and the big mail services refuse to
	// send programs, so a genuine sender hardly can.
	for _, a := range []struct {
		on     bool
		name   string
		score  float64
		desc   string
		forged bool
	}{
		{k.exe, SignExecutable, 4.5, "attached program or script (.exe, .js, .lnk, .iso...) or a file name hiding one", true},
		{k.decoy, SignDecoyName, 4.5, "a program named as a document (Invoice.pdf.exe): Windows hides the last extension, so the reader sees a PDF", true},
		{k.macros, SignOfficeMacro, 2.0, "attached Office document with macros: the way most document malware ran, though some businesses send macro workbooks", false},
		{k.page, SignHTMLAttachment, 1.5, "attached web page (.htm, .html, .svg), also alone in a small archive: the usual carrier of a fake sign-in page", false},
		{k.pageScript, SignPageScript, 2.0, "attached web page or SVG image that runs a script: it opens or redirects to a fake sign-in page", false},
		{k.encrypted, SignEncryptedArchive, 1.0, "attached ZIP, RAR or 7z archive with encrypted files: mail scanners cannot look inside", false},
	} {
		if a.on && add(a.name, a.score, a.desc) && a.forged {
			res.Signs[len(res.Signs)-1].Forged = true
		}
	}
	// A macro document whose message tells the reader to enable its
	// content (the rules' MALWARE_ENABLE_CONTENT) is the dropper itself: a
	// business that sends a macro workbook has no need to ask, Office asks.
	if k.macros && add(SignMacroLure, 1.0, "the attached macro document comes with the request to enable its content") {
		sg := &res.Signs[len(res.Signs)-1]
		sg.Forged, sg.With = true, []string{"MALWARE_ENABLE_CONTENT"}
	}
	for _, text := range m.QRCodes {
		if len(message.ExtractURLs(text)) > 0 {
			add(SignQRLink, 2.0, "short message with a QR code that opens a web address: phishing hides its link from filters so")
			break
		}
	}
	return res, nil
}

// executable reports the file types that run when opened on a desktop (or
// mount a disk image that holds one): legitimate mail does not send them,
// malware and its droppers do.
func executable(ext string) bool {
	switch ext {
	case "exe", "scr", "com", "pif", "bat", "cmd", "cpl", "msi", "js", "jse", "vbs", "vbe", "wsf", "wsh",
		"hta", "ps1", "jar", "lnk", "iso", "img", "vhd", "vhdx":
		return true
	}
	return false
}

// webPage reports the extensions of web pages and SVG images: what a
// browser opens, and draws a fake sign-in form in.
func webPage(ext string) bool {
	switch ext {
	case "htm", "html", "shtml", "xhtml", "svg":
		return true
	}
	return false
}

// officeDocument reports the extensions of Word, Excel and PowerPoint
// files that can carry macros, or be a renamed file that does.
func officeDocument(ext string) bool {
	switch ext {
	case "doc", "dot", "docx", "docm", "dotm", "xls", "xlt", "xla", "xlsx", "xlsm", "xltm", "xlam", "xlsb",
		"ppt", "pot", "pps", "pptx", "pptm", "potm", "ppsm":
		return true
	}
	return false
}

// decoy reports a program named as a document, "Invoice.pdf.exe" or
// "scan.jpg     .lnk": Windows hides known extensions, so the reader sees
// "Invoice.pdf". A program has no honest reason to be named so. name is
// lower case.
func decoy(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || !executable(name[i+1:]) {
		return false
	}
	base := strings.TrimRight(name[:i], " _")
	j := strings.LastIndexByte(base, '.')
	if j < 0 {
		return false
	}
	switch base[j+1:] {
	case "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "txt", "csv",
		"jpg", "jpeg", "png", "gif", "tif", "tiff", "bmp", "mp3", "mp4", "wav", "htm", "html", "eml", "msg", "zip", "rar", "7z":
		return true
	}
	return false
}

// attachments says what kinds of file a message attaches.
type attachments struct {
	exe        bool // a program, script or disk image, also behind a decoy name or inside a small archive
	decoy      bool // a program named as a document, attached or in an archive
	macros     bool // an Office document with a VBA project, attached or in a small archive
	page       bool // a web page, also in a small archive
	pageScript bool // a web page or SVG image that runs a script, also in a small archive
	encrypted  bool // a ZIP, RAR or 7z archive whose files (or directory) are encrypted
}

// attachmentKinds reports what kinds of file the message attaches.
func attachmentKinds(m *message.Message) attachments {
	var k attachments
	for _, l := range m.Leaves {
		name := strings.ToLower(strings.TrimSpace(l.Filename))
		if name == "" {
			continue
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			continue
		}
		switch ext := name[i+1:]; {
		case executable(ext):
			k.exe = true
			k.decoy = k.decoy || decoy(name)
		case officeDocument(ext):
			k.macros = k.macros || message.OfficeMacros(l.Body)
		case archiveExt(ext):
			a := inspectArchive(l.Body)
			k.exe = k.exe || a.exe
			k.decoy = k.decoy || a.decoy
			k.macros = k.macros || a.macros
			k.encrypted = k.encrypted || a.encrypted
			k.page = k.page || a.page
			k.pageScript = k.pageScript || a.script
		case webPage(ext):
			if l.Attachment || l.MediaType != "text/html" {
				script := runsScript(l.Body)
				k.page = true
				k.pageScript = k.pageScript || script
				// An SVG image that runs a script is a program under an
				// image's name: the browser runs it when it is opened.
				k.exe = k.exe || script && ext == "svg"
			}
		}
	}
	return k
}

// maxScriptScan bounds how much of an attached page is searched for script.
const maxScriptScan = 256 << 10

var reEventHandler = regexp.MustCompile(`\bon(load|error|click|mouseover|focus|begin)\s*=`)

// runsScript reports an attached page or SVG image with a script, a
// javascript: link or an event handler: an SVG logo or a saved receipt has
// none, while the phishing attachment uses one to draw the sign-in form or
// send the reader to it.
func runsScript(b []byte) bool {
	b = bytes.ToLower(b[:min(len(b), maxScriptScan)])
	return bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("javascript:")) || reEventHandler.Match(b)
}

// htmlOnly reports a message whose only text is HTML.
func htmlOnly(m *message.Message) bool {
	html, plain := false, false
	for _, l := range m.Leaves {
		if l.Attachment {
			continue
		}
		switch l.MediaType {
		case "text/html":
			html = true
		case "text/plain":
			if strings.TrimSpace(l.Text) != "" {
				plain = true
			}
		}
	}
	return html && !plain
}
