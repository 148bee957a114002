package manifest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// headersTests: a _headers file, the headers it gives some paths, and the
// problems it reports (with line numbers).
var headersTests = []struct {
	name     string
	file     string
	base     string
	want     map[string]string // path → "Name: value; Name: value" ("" for none)
	problems []string
}{
	{
		name: "every path and a folder",
		file: "/*\n  X-Frame-Options: DENY\n  Referrer-Policy: no-referrer\n\n/assets/*\n  Access-Control-Allow-Origin: *\n",
		want: map[string]string{
			"/":             "X-Frame-Options: DENY; Referrer-Policy: no-referrer",
			"/index.html":   "X-Frame-Options: DENY; Referrer-Policy: no-referrer",
			"/assets/a.js":  "X-Frame-Options: DENY; Referrer-Policy: no-referrer; Access-Control-Allow-Origin: *",
			"/assets":       "X-Frame-Options: DENY; Referrer-Policy: no-referrer; Access-Control-Allow-Origin: *", // "/assets/*" matches "/assets"
			"/assetsx/a.js": "X-Frame-Options: DENY; Referrer-Policy: no-referrer",
		},
	},
	{
		name: "one name in several rules: values joined",
		file: "/*\n  Link: </a.css>; rel=preload\n/page\n  Link: </b.js>; rel=modulepreload\n",
		want: map[string]string{
			"/page":  "Link: </a.css>; rel=preload, </b.js>; rel=modulepreload",
			"/page/": "Link: </a.css>; rel=preload, </b.js>; rel=modulepreload", // a trailing slash matches too
			"/other": "Link: </a.css>; rel=preload",
		},
	},
	{
		name: "detach a header a broader rule set",
		file: "# robots\n/*\n  X-Robots-Tag: noindex\n  X-Frame-Options: DENY\n/public/*\n  ! X-Robots-Tag\n",
		want: map[string]string{"/public/a.html": "X-Frame-Options: DENY", "/private": "X-Robots-Tag: noindex; X-Frame-Options: DENY"},
	},
	{
		name: "placeholders and the splat in values",
		file: "/blog/:slug\n  X-Slug: :slug\n/files/*\n  Content-Disposition: attachment; filename=\":splat\"\n",
		want: map[string]string{
			"/blog/hello":   "X-Slug: hello",
			"/blog/a/b":     "",
			"/blog/":        "",
			"/files/report": `Content-Disposition: attachment; filename="report"`,
		},
	},
	{
		name: "a capture holding a line break cannot split the response",
		file: "/blog/:slug\n  X-Slug: :slug\n",
		want: map[string]string{"/blog/a\r\nSet-Cookie: x=1": "X-Slug: a%0D%0ASet-Cookie: x=1"},
	},
	{
		name: "colons in values stay",
		file: "/*\n  Content-Security-Policy: default-src 'self'; img-src https: data:; connect-src wss://x.example:443\n",
		want: map[string]string{"/": "Content-Security-Policy: default-src 'self'; img-src https: data:; connect-src wss://x.example:443"},
	},
	{
		name: "names canonical, CRLF lines, tabs",
		file: "/x\r\n\tx-frame-options: SAMEORIGIN\r\n",
		want: map[string]string{"/x": "X-Frame-Options: SAMEORIGIN"},
	},
	{
		name: "lines that cannot be used are left out and said",
		file: "  X-Early: 1\n/*\n  Cache-Control: public, max-age=31536000, immutable\n  Skewless-Version: v0\n  Set-Cookie: a=b\n" +
			"  Bad Name: x\n  X-Empty:\n  no colon here\n  X-Ok: yes\nhttps://example.com/*\n  X-Host: 1\n/a/*/b\n  X-Mid: 1\n/splat\n  X-S: :splat\n",
		want: map[string]string{"/": "X-Ok: yes", "/splat": "X-Ok: yes"},
		problems: []string{
			`_headers line 1: "X-Early: 1" is indented but follows no path line (or follows an ignored one)`,
			`_headers line 3: Cache-Control cannot be set here: caching is skewless's (hashed files immutable, the rest no-cache); use --immutable GLOB for hashed names it misses`,
			`_headers line 4: Skewless-Version cannot be set here: Skewless-* headers are the server's (the helper trusts them)`,
			`_headers line 5: Set-Cookie cannot be set here: a cached file must not set a cookie`,
			`_headers line 6: "Bad Name" is not a header name`,
			`_headers line 7: X-Empty has no value`,
			`_headers line 8: "no colon here" is not "Name: value"`,
			`_headers line 10: "https://example.com/*": absolute URLs are not supported (a path such as /* applies to every host)`,
			`_headers line 11: "X-Host: 1" is indented but follows no path line (or follows an ignored one)`,
			`_headers line 12: "/a/*/b": * (the splat) must end the path`,
			`_headers line 13: "X-Mid: 1" is indented but follows no path line (or follows an ignored one)`,
			`_headers line 15: the value of X-S uses :splat, but /splat has no *`,
		},
	},
	{
		name: "under a base: URL paths with the base; /* is every path",
		base: "/app/",
		file: "/*\n  X-All: 1\n/app/assets/*\n  X-Assets: 1\n/other/*\n  X-Other: 1\n",
		want: map[string]string{"/assets/a.js": "X-All: 1; X-Assets: 1", "/index.html": "X-All: 1"},
		problems: []string{
			`_headers line 5: "/other/*" is outside the base /app/: it can never match`,
			`_headers line 6: "X-Other: 1" is indented but follows no path line (or follows an ignored one)`,
		},
	},
}

func TestParseHeaders(t *testing.T) {
	for _, tt := range headersTests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = "/"
			}
			hr, problems := ParseHeaders([]byte(tt.file), base)
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems:\n got %q\nwant %q", problems, tt.problems)
			}
			for p, want := range tt.want {
				var got []string
				for _, h := range hr.For(p) {
					got = append(got, h.Name+": "+h.Value)
				}
				if g := strings.Join(got, "; "); g != want {
					t.Errorf("For(%q) = %q, want %q", p, g, want)
				}
			}
		})
	}
}

// redirectsTests: a _redirects file, what paths match (forced or not),
// their targets, and the problems it reports.
var redirectsTests = []struct {
	name     string
	file     string
	base     string
	want     map[string]string // path → "STATUS[!] TARGET" ("" for no rule); a rewrite's target is its build path
	forced   map[string]string // path → the first forced rule's "STATUS! TARGET"
	problems []string
}{
	{
		name: "the default status is 301; trailing slashes match",
		file: "/old /new\n/temp /elsewhere 302\n/see /other 303\n/keep /k 307\n/perm https://example.com/p 308\n",
		want: map[string]string{"/old": "301 /new", "/old/": "301 /new", "/temp": "302 /elsewhere", "/see": "303 /other",
			"/keep": "307 /k", "/perm": "308 https://example.com/p", "/older": "", "/": ""},
	},
	{
		name: "splats and placeholders",
		file: "/news/* /blog/:splat 302\n/u/:id/profile /people/:id\n/:lang/docs/* https://docs.example.com/:lang/:splat\n",
		want: map[string]string{
			"/news/2024/a.html": "302 /blog/2024/a.html",
			"/news":             "302 /blog/",
			"/u/42/profile":     "301 /people/42",
			"/u//profile":       "",
			"/fr/docs/intro":    "301 https://docs.example.com/fr/intro",
		},
	},
	{
		name: "first match wins, a dynamic rule before an exact one too",
		file: "/x/* /one\n/x/y /two\n/z /three\n/z /four\n",
		want: map[string]string{"/x/y": "301 /one", "/z": "301 /three"},
	},
	{
		name:   "rewrites and forced rules",
		file:   "/app/* /index.html 200\n/a /b 301!\n/old/* /new/:splat 302!\n",
		want:   map[string]string{"/app/x": "200 /index.html", "/a": "301! /b", "/old/p": "302! /new/p"},
		forced: map[string]string{"/a": "301! /b", "/old/p": "302! /new/p", "/app/x": ""},
	},
	{
		name:   "a forced rule after an unforced one",
		file:   "/a /first\n/a /second 302!\n/* /fallback 302!\n",
		want:   map[string]string{"/a": "301 /first"},
		forced: map[string]string{"/a": "302! /second", "/b": "302! /fallback"},
	},
	{
		name: "Netlify's extras are left out and said",
		file: "/lonely\n/a /b 404\n/c /d 301 Country=us\n/store id=:id /blog/:id 301\nhttps://x.example/* /y\n" +
			"/q?x=1 /r\n/e /f/:slug\n/g https://other.example/ 200\n/h /i 999\n/j to-nowhere\n/k/*/l /m\n/ok /fine\n",
		want: map[string]string{"/ok": "301 /fine", "/a": "", "/c": ""},
		problems: []string{
			`_redirects line 1: "/lonely" has no target (FROM TO [STATUS])`,
			`_redirects line 2: status "404" is not supported (301, 302, 303, 307, 308, or 200 to rewrite)`,
			`_redirects line 3: conditions (Country=us) are not supported`,
			`_redirects line 4: "id=:id": query parameter matching is not supported`,
			`_redirects line 5: "https://x.example/*": rules for other hosts are not supported (a path applies to every host)`,
			`_redirects line 6: "/q?x=1": FROM matches the path only; queries are not matched`,
			`_redirects line 7: "/f/:slug" uses :slug, which "/e" does not capture`,
			`_redirects line 8: a 200 rewrite to "https://other.example/" would proxy another host, which is not supported (redirect with 301/302, or rewrite to a path)`,
			`_redirects line 9: status "999" is not supported (301, 302, 303, 307, 308, or 200 to rewrite)`,
			`_redirects line 10: "to-nowhere" is not a target (a path starting with /, or an http(s) URL)`,
			`_redirects line 11: "/k/*/l": * (the splat) must end the path`,
		},
	},
	{
		name: "under a base: paths with the base, rewrites to build paths",
		base: "/app/",
		file: "/app/old /app/new\n/app/* /app/index.html 200\n/elsewhere /app/\n",
		want: map[string]string{"/old": "301 /app/new", "/x/y": "200 /index.html"},
		problems: []string{
			`_redirects line 3: "/elsewhere" is outside the base /app/: it can never match`,
		},
	},
}

func describeRule(r *Redirect, path string) string {
	if r == nil {
		return ""
	}
	force := ""
	if r.Force {
		force = "!"
	}
	target := r.Target(path)
	if r.Rewrite() {
		target = r.RewritePath(path)
	}
	return fmt.Sprintf("%d%s %s", r.Status, force, target)
}

func TestParseRedirects(t *testing.T) {
	for _, tt := range redirectsTests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = "/"
			}
			rr, problems := ParseRedirects([]byte(tt.file), base)
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems:\n got %q\nwant %q", problems, tt.problems)
			}
			for p, want := range tt.want {
				if got := describeRule(rr.Match(p, false), p); got != want {
					t.Errorf("Match(%q) = %q, want %q", p, got, want)
				}
			}
			for p, want := range tt.forced {
				if got := describeRule(rr.Match(p, true), p); got != want {
					t.Errorf("Match(%q, forced) = %q, want %q", p, got, want)
				}
			}
			if rr.HasForced() != (len(tt.forced) > 0) {
				t.Errorf("HasForced = %v", rr.HasForced())
			}
		})
	}
}

// TestRulesAtLoad: a build's _headers and _redirects are compiled at
// load and never served; a rewrite to a file the build lacks is left out
// and said, and the build stays valid.
func TestRulesAtLoad(t *testing.T) {
	dir := writeBuild(t, map[string]string{
		"index.html": page(""), "about/index.html": page(""),
		"_headers":   "/*\n  X-Frame-Options: DENY\n",
		"_redirects": "/team /about 200\n/gone /missing.html 200\n/blog/* /posts/:splat 200\n",
	})
	b, err := NewLoader(LoaderConfig{}).Load(context.Background(), "v1", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/_headers", "/_redirects"} {
		if b.Files[p] != nil {
			t.Errorf("%s is served", p)
		}
	}
	if b.Rules == nil || b.Rules.Headers.For("/index.html") == nil {
		t.Fatalf("rules not loaded: %+v", b.Rules)
	}
	want := []string{"_redirects line 2: rewrites to /missing.html, which is not in the build"}
	if !slices.Equal(b.Rules.Problems, want) {
		t.Errorf("problems %q, want %q", b.Rules.Problems, want)
	}
	if got := describeRule(b.Rules.Redirects.Match("/team", false), "/team"); got != "200 /about" {
		t.Errorf("/team: %q", got)
	}
	if got := describeRule(b.Rules.Redirects.Match("/gone", false), "/gone"); got != "" {
		t.Errorf("/gone (dropped): %q", got)
	}
	if got := describeRule(b.Rules.Redirects.Match("/blog/x", false), "/blog/x"); got != "200 /posts/x" {
		t.Errorf("/blog/x (dynamic: kept): %q", got)
	}
	noRules := writeBuild(t, map[string]string{"index.html": page("")})
	if b, err := NewLoader(LoaderConfig{}).Load(context.Background(), "v2", noRules); err != nil || b.Rules != nil {
		t.Errorf("a build without rules files: %v, %+v", err, b.Rules)
	}
}

// TestRedirectMatchAllocs: matching is free of allocations, so a forced
// rule costs an asset hit nothing but the comparisons.
func TestRedirectMatchAllocs(t *testing.T) {
	rr, _ := ParseRedirects([]byte("/a /b 301!\n/u/:id/profile /people/:id 302!\n/news/* /blog/:splat 301!\n"), "/")
	allocs := testing.AllocsPerRun(100, func() {
		rr.Match("/assets/index-BRh8Y3xK.js", true)
		rr.Match("/news/x", true)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per match", allocs)
	}
}

// FuzzRules: any _headers or _redirects text and any path: no panic, and
// a rule that matches yields a target and headers without failing.
func FuzzRules(f *testing.F) {
	for _, tt := range headersTests {
		f.Add(tt.file, "/assets/a.js")
	}
	for _, tt := range redirectsTests {
		f.Add(tt.file, "/news/2024/x")
	}
	f.Fuzz(func(t *testing.T, text, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		for _, base := range []string{"/", "/app/"} {
			hr, _ := ParseHeaders([]byte(text), base)
			hr.For(path)
			rr, _ := ParseRedirects([]byte(text), base)
			for _, forced := range []bool{false, true} {
				if r := rr.Match(path, forced); r != nil {
					_ = r.Target(path)
					_ = r.RewritePath(path)
				}
			}
		}
	})
}
