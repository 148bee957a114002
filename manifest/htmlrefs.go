package manifest

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/html"
)

// htmlRefs returns the local URL paths an HTML document loads as part of
// the page: script src, and link href for stylesheet, modulepreload,
// preload and icon. Paths are absolute ("/assets/x.js"), resolved against
// base (the document's own URL directory), without query or fragment.
func htmlRefs(doc []byte, base string) []string {
	var refs []string
	seen := map[string]bool{}
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return refs
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		var ref string
		switch tok.Data {
		case "script":
			ref = attr(tok, "src")
		case "link":
			if loadsResource(attr(tok, "rel")) {
				ref = attr(tok, "href")
			}
		}
		if p, ok := localPath(ref, base); ok && !seen[p] {
			seen[p] = true
			refs = append(refs, p)
		}
	}
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return strings.TrimSpace(a.Val)
		}
	}
	return ""
}

func loadsResource(rel string) bool {
	for _, r := range strings.Fields(strings.ToLower(rel)) {
		switch r {
		case "stylesheet", "modulepreload", "preload", "icon":
			return true
		}
	}
	return false
}

// localPath resolves a reference to a same-origin path, or reports false for
// an empty, external (scheme or //host), data: or fragment-only reference.
func localPath(ref, base string) (string, bool) {
	if ref == "" || strings.HasPrefix(ref, "#") {
		return "", false
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "//") || u.Path == "" {
		return "", false
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		p = path.Join(base, p)
	}
	return path.Clean(p), true
}

// documentProblem says why doc (index.html) would not show a page, or ""
// when it is a document: not blank, markup rather than plain text, and,
// parsed as a browser does, a <script> somewhere or a <body> with content.
// The parser supplies <html>, <head> and <body> when they are absent, so
// "parses" alone proves nothing; what the body holds does.
func documentProblem(doc []byte) string {
	if len(bytes.TrimSpace(bytes.TrimPrefix(doc, []byte("\ufeff")))) == 0 {
		return "index.html is empty: every route would show a blank page"
	}
	if !hasMarkup(doc) {
		return "index.html is not an HTML document: it holds no tags (plain text?)"
	}
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return fmt.Sprintf("index.html cannot be parsed as HTML: %v", err)
	}
	if find(root, "script") == nil && blank(find(root, "body")) {
		return "index.html would show a blank page: its <body> is empty and it loads no <script>"
	}
	return ""
}

// hasMarkup reports whether doc holds a doctype or a tag.
func hasMarkup(doc []byte) bool {
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return false
		case html.DoctypeToken, html.StartTagToken, html.SelfClosingTagToken:
			return true
		}
	}
}

// find returns the first element named tag under n, depth first.
func find(n *html.Node, tag string) *html.Node {
	if n.Type == html.ElementNode && n.Data == tag {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, tag); f != nil {
			return f
		}
	}
	return nil
}

// blank reports whether a body shows nothing: no element, no text but
// white space (comments aside). A document without a body (a frameset)
// is not blank.
func blank(body *html.Node) bool {
	if body == nil {
		return false
	}
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.ElementNode:
			return false
		case html.TextNode:
			if strings.TrimSpace(c.Data) != "" {
				return false
			}
		}
	}
	return true
}
