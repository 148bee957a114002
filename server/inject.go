package main

import (
	"bytes"
	"html"
)

// helperTag is the script tag injected into every HTML document. It is a
// classic, synchronous script so it runs before the app's own scripts and
// sees every asset failure.
func helperTag(version string) []byte {
	return []byte(`<script src="/_skewless/client.js" data-version="` + html.EscapeString(version) + `"></script>`)
}

// injectHead returns doc with tag inserted as the first element of <head>.
//
// Where the document has no <head> start tag, the HTML parser implies one
// just before the first element or text that is not <html>, a comment or a
// doctype (WHATWG HTML §13.2.6.4.2-4); the tag goes there, after <html> when
// present. It never goes before the doctype: that would put the page in
// quirks mode. A byte-order mark stays first.
func injectHead(doc, tag []byte) []byte {
	at := headInsertion(doc)
	out := make([]byte, 0, len(doc)+len(tag))
	out = append(out, doc[:at]...)
	out = append(out, tag...)
	return append(out, doc[at:]...)
}

// headInsertion finds the offset right after <head ...>, or where the
// parser would imply <head>.
func headInsertion(doc []byte) int {
	i := 0
	if bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	for i < len(doc) {
		c := doc[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			i++
			continue
		}
		if c != '<' {
			return i // text: the head is implied before it
		}
		rest := doc[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return len(doc)
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<!")), bytes.HasPrefix(rest, []byte("<?")), bytes.HasPrefix(rest, []byte("</")):
			i += tagEnd(rest)
		default:
			name := tagName(rest[1:])
			switch {
			case asciiEqualFold(name, "head"):
				return i + tagEnd(rest)
			case asciiEqualFold(name, "html"):
				i += tagEnd(rest)
			default:
				return i // another element (even <header>): head implied here
			}
		}
	}
	return len(doc)
}

// tagName returns the letters and digits of a tag name at the start of b.
func tagName(b []byte) []byte {
	n := 0
	for n < len(b) && (isTagChar(b[n])) {
		n++
	}
	return b[:n]
}

func isTagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// tagEnd returns the length of the tag at the start of b, up to and
// including its '>', skipping quoted attribute values.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(b)
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
