package message

// Anomaly names recorded in Message.Anomalies. They are stable identifiers:
// checks score them and administrators see them in reports, so an existing
// name never changes meaning.
const (
	// Limits reached.
	AnomalySizeLimit    = "size_limit"     // message longer than Limits.MaxSize
	AnomalyDepth        = "mime_depth"     // nesting deeper than Limits.MaxDepth
	AnomalyParts        = "mime_parts"     // more parts than Limits.MaxParts
	AnomalyHeaderTooBig = "header_too_big" // a header bigger than Limits.MaxHeaderBytes
	AnomalyDecodeLimit  = "decode_limit"   // decoded bytes over Limits.MaxDecodedBytes
	AnomalyTextLimit    = "text_limit"     // text over Limits.MaxTextBytes
	AnomalyTimeout      = "parse_timeout"  // Limits.Timeout or the context deadline

	// Header syntax.
	AnomalyHeaderContinuation = "header_continuation" // folded line before any field
	AnomalyHeaderMalformed    = "header_malformed"    // a line that is no field ends the header early
	AnomalyHeader8bit         = "header_8bit"         // raw 8-bit bytes in a header
	AnomalyBadEncodedWord     = "bad_encoded_word"    // an RFC 2047 word that does not decode
	AnomalyNoMIMEVersion      = "missing_mime_version"

	// MIME structure.
	AnomalyBadContentType  = "bad_content_type"
	AnomalyNoBoundary      = "multipart_no_boundary"      // multipart without a boundary parameter
	AnomalyBoundaryMissing = "multipart_boundary_missing" // the boundary never occurs in the body
	AnomalyUnterminated    = "multipart_unterminated"     // no closing boundary
	AnomalyEmptyMultipart  = "multipart_empty"            // a multipart without parts

	// Body encodings.
	AnomalyBadBase64       = "bad_base64"
	AnomalyBadQP           = "bad_quoted_printable"
	AnomalyUnknownEncoding = "unknown_transfer_encoding"
	AnomalyUnknownCharset  = "unknown_charset"
	AnomalyBadUTF8         = "bad_utf8"           // text declared UTF-8 that is not
	AnomalyUndeclared8bit  = "undeclared_charset" // 8-bit text without a charset
	AnomalyNUL             = "nul_bytes"          // NUL bytes in a text part

	// Attachments.
	AnomalyBadDocument = "bad_document" // an RTF or Word attachment that does not parse
)
