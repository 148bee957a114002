package main

import (
	"bytes"
	"html"
)

// helperTag is the script tag injected into every HTML document. It is a
// classic, synchronous script so it runs before the app's own scripts and
// sees every asset failure. Its URL is under the base (--base); the helper
// finds the endpoints beside it.
func helperTag(base, version string) []byte {
	return []byte(`<script src="` + base + `_skewless/client.js" data-version="` + html.EscapeString(version) + `"></script>`)
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
		if isSpace(c) {
			i++
			continue
		}
		if c != '<' {
			return i // text: the head is implied before it
		}
		rest := doc[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i += commentEnd(rest)
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

// commentEnd returns the length of the comment at the start of b. "<!-->"
// and "<!--->" are complete (empty) comments (WHATWG HTML §13.2.5.43-44).
func commentEnd(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte("<!-->")):
		return 5
	case bytes.HasPrefix(b, []byte("<!--->")):
		return 6
	}
	if end := bytes.Index(b[4:], []byte("-->")); end >= 0 {
		return 4 + end + 3
	}
	return len(b)
}

// tagName returns the tag name at the start of b: everything up to
// whitespace, '/' or '>' (WHATWG HTML §13.2.5.8).
func tagName(b []byte) []byte {
	n := 0
	for n < len(b) && !isSpace(b[n]) && b[n] != '/' && b[n] != '>' {
		n++
	}
	return b[:n]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// tagEnd returns the length of the tag at the start of b, up to and
// including its '>'. A quote opens a value only right after '=' (and
// spaces); in an unquoted value it is an ordinary character.
func tagEnd(b []byte) int {
	var quote byte
	afterEq := false
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case (c == '"' || c == '\'') && afterEq:
			quote = c
		case c == '>':
			return i + 1
		}
		if c == '=' {
			afterEq = true
		} else if !isSpace(c) {
			afterEq = false
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
