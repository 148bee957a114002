package main

// injectHead puts the helper's tag as the first element of <head>, where
// the HTML parser (WHATWG HTML §13.2.6.4.2-4) would put it: after <head>
// when there is one, else where the parser implies <head> — after a BOM,
// the doctype, comments and <html>, before the first other element or
// text. Cases in the style of Hugo's transform/livereloadinject tests.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// injTag is the tag the cases insert; "{T}" marks where it must land.
var injTag = string(helperTag("/", "v1"))

var injectHeadTests = []struct {
	name string
	in   string
	want string
}{
	{"plain head", `<!DOCTYPE html><html><head><title>x</title></head><body></body></html>`,
		`<!DOCTYPE html><html><head>{T}<title>x</title></head><body></body></html>`},
	{"head with attributes", `<html><head lang="en" data-x='1'><meta charset="utf-8"></head></html>`,
		`<html><head lang="en" data-x='1'>{T}<meta charset="utf-8"></head></html>`},
	{"upper-case HEAD", `<HTML><HEAD><TITLE>x</TITLE></HEAD></HTML>`,
		`<HTML><HEAD>{T}<TITLE>x</TITLE></HEAD></HTML>`},
	{"mixed-case head", `<!DoCtYpE html><Html><HeAd><title>x</title>`,
		`<!DoCtYpE html><Html><HeAd>{T}<title>x</title>`},
	{"header before head is not head", `<html><header>Site</header><head><title>x</title></head>`,
		`<html>{T}<header>Site</header><head><title>x</title></head>`},
	{"header without head", `<!doctype html><html><body><header>Site</header></body></html>`,
		`<!doctype html><html>{T}<body><header>Site</header></body></html>`},
	{"header first, no html", `<header>Site</header>`,
		`{T}<header>Site</header>`},
	{"heading element", `<heading>x</heading><head>`,
		`{T}<heading>x</heading><head>`},
	{"custom element head-x is not head", `<head-x></head-x><p>x`,
		`{T}<head-x></head-x><p>x`},
	{"no head, html with attributes", `<!doctype html><html lang="en"><title>x</title><p>hi`,
		`<!doctype html><html lang="en">{T}<title>x</title><p>hi`},
	{"no html, no head", `<title>x</title><p>hi`,
		`{T}<title>x</title><p>hi`},
	{"doctype kept first", "<!DOCTYPE html>\n<title>x</title>",
		"<!DOCTYPE html>\n{T}<title>x</title>"},
	{"doctype with public identifier", `<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><head><title>x</title>`,
		`<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><head>{T}<title>x</title>`},
	{"BOM kept first", "\ufeff<!doctype html><html><head><title>x</title>",
		"\ufeff<!doctype html><html><head>{T}<title>x</title>"},
	{"BOM, no head", "\ufeff<p>hi",
		"\ufeff{T}<p>hi"},
	{"BOM only", "\ufeff",
		"\ufeff{T}"},
	{"comment before html", `<!-- build 42 --><html><head><title>x</title>`,
		`<!-- build 42 --><html><head>{T}<title>x</title>`},
	{"comment containing head", `<!-- <head> --><html><head><title>x</title>`,
		`<!-- <head> --><html><head>{T}<title>x</title>`},
	{"comment between html and head", `<html><!-- <head><script> --><head><title>x</title>`,
		`<html><!-- <head><script> --><head>{T}<title>x</title>`},
	{"head only inside a comment", `<!doctype html><!-- <head> --><body><p>x`,
		`<!doctype html><!-- <head> -->{T}<body><p>x`},
	{"empty comment", `<!----><head><title>x</title>`,
		`<!----><head>{T}<title>x</title>`},
	{"conditional comment", `<!--[if IE]><html class="ie"><![endif]--><html><head><title>x</title>`,
		`<!--[if IE]><html class="ie"><![endif]--><html><head>{T}<title>x</title>`},
	// WHATWG HTML §13.2.5.43: "<!-->" is a complete (empty) comment.
	{"abruptly closed empty comment", `<!--><html><head><title>x</title></head></html>`,
		`<!--><html><head>{T}<title>x</title></head></html>`},
	{"quoted > in head attribute", `<head data-x="a>b"><title>x</title>`,
		`<head data-x="a>b">{T}<title>x</title>`},
	{"single-quoted > in html attribute, no head", `<html data-x='>'><title>x</title>`,
		`<html data-x='>'>{T}<title>x</title>`},
	{"whitespace and newlines", "\n\n  <html>\n  <head\n    lang=\"en\"\n  >\n<title>x</title>",
		"\n\n  <html>\n  <head\n    lang=\"en\"\n  >{T}\n<title>x</title>"},
	{"self-closing head", `<head/><title>x</title>`,
		`<head/>{T}<title>x</title>`},
	{"processing instruction", `<?xml version="1.0"?><html><head><title>x</title>`,
		`<?xml version="1.0"?><html><head>{T}<title>x</title>`},
	{"stray end tag before head", `</p><html><head><title>x</title>`,
		`</p><html><head>{T}<title>x</title>`},
	{"script before head", `<script>var a = "<head>"</script><head><title>x</title>`,
		`{T}<script>var a = "<head>"</script><head><title>x</title>`},
	{"less-than and space is text", `< head><p>x`,
		`{T}< head><p>x`},
	{"empty document", ``,
		`{T}`},
	{"whitespace only", " \n\t",
		" \n\t{T}"},
	{"text only", `hello`,
		`{T}hello`},
	{"text after whitespace", "  hello <b>world</b>",
		"  {T}hello <b>world</b>"},
}

func TestInjectHead(t *testing.T) {
	for _, tt := range injectHeadTests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Replace(tt.want, "{T}", injTag, 1)
			got := string(injectHead([]byte(tt.in), []byte(injTag)))
			if got != want {
				t.Fatalf("injectHead(%q)\n got %q\nwant %q", tt.in, got, want)
			}
			// The parser agrees: the tag is the first element of <head>.
			if first := firstInHead(t, got); first != "/_skewless/client.js" {
				t.Errorf("the parser's first element of <head> is %q", first)
			}
		})
	}
}

// firstInHead parses doc as a browser would and describes the first
// element of its <head>: a script's src, or the element's name.
func firstInHead(t *testing.T, doc string) string {
	t.Helper()
	// A browser's decoder drops the byte-order mark before parsing.
	root, err := html.Parse(strings.NewReader(strings.TrimPrefix(doc, "\ufeff")))
	if err != nil {
		t.Fatal(err)
	}
	var head *html.Node
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && n.DataAtom == atom.Head {
			head = n
			break
		}
	}
	if head == nil {
		return "(no head)"
	}
	for c := head.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		if c.DataAtom == atom.Script {
			for _, a := range c.Attr {
				if a.Key == "src" {
					return a.Val
				}
			}
		}
		return c.Data
	}
	return "(empty head)"
}

func TestHelperTag(t *testing.T) {
	for _, tt := range []struct{ base, version, want string }{
		{"/", "v1", `<script src="/_skewless/client.js" data-version="v1"></script>`},
		{"/", "2026.02.13-rc_1", `<script src="/_skewless/client.js" data-version="2026.02.13-rc_1"></script>`},
		{"/", `a"<b&`, `<script src="/_skewless/client.js" data-version="a&#34;&lt;b&amp;"></script>`},
		// --base /app/: the helper is under the base, as the endpoints.
		{"/app/", "b1", `<script src="/app/_skewless/client.js" data-version="b1"></script>`},
		{"/a/b/", "b1", `<script src="/a/b/_skewless/client.js" data-version="b1"></script>`},
	} {
		if got := string(helperTag(tt.base, tt.version)); got != tt.want {
			t.Errorf("helperTag(%q, %q) = %s, want %s", tt.base, tt.version, got, tt.want)
		}
	}
}

// TestInjectHeadFixtures: in every committed build's index.html the tag
// lands right after <head>, before the app's scripts, preloads and styles.
func TestInjectHeadFixtures(t *testing.T) {
	for _, dir := range []string{
		"../fixtures/builds/v1", "../fixtures/builds/v2", "../fixtures/builds/v3",
		"../fixtures/webpack-builds/w1", "../fixtures/webpack-builds/w2",
		"../fixtures/esbuild-builds/e1", "../fixtures/esbuild-builds/e2",
	} {
		version := filepath.Base(dir)
		t.Run(version, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(dir, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			tag := string(helperTag("/", version))
			got := string(injectHead(doc, []byte(tag)))
			head := strings.Index(got, "<head>")
			if head < 0 || !strings.HasPrefix(got[head+len("<head>"):], tag) {
				t.Fatalf("the tag does not follow <head>:\n%s", got)
			}
			if got[:head+len("<head>")]+got[head+len("<head>")+len(tag):] != string(doc) {
				t.Error("the rest of the document changed")
			}
			if first := firstInHead(t, got); first != "/_skewless/client.js" {
				t.Errorf("first element of <head> is %q", first)
			}
			at := strings.Index(got, tag)
			for _, own := range []string{"<script type=", "<script defer", "modulepreload", "stylesheet"} {
				if i := strings.Index(got, own); i >= 0 && i < at {
					t.Errorf("%q comes before the helper", own)
				}
			}
		})
	}
}
