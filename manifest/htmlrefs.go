package manifest

import (
	"bytes"
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
