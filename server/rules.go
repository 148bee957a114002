package main

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/skewless/skewless/manifest"
)

// route resolves p as the contract's serving order does, then applies
// the current build's _redirects, as Netlify does:
//   - a rule matches by path (first match wins); a file that answers the
//     path (current or live, clean URLs included) shadows every rule but
//     a forced one ("!"), so "/* /index.html 200" never hides a chunk;
//   - a retired path keeps its 404 retired unless a forced rule says
//     otherwise: an old tab must learn its build is gone;
//   - a rewrite to HTML does not answer a script's or style's request for
//     a missing file (step 6: 404 unknown), as the SPA fallback does not.
//
// With no _redirects, or no forced rule, a file hit costs nothing more.
func route(snap *manifest.Snapshot, p string, req request) resolution {
	res := resolve(snap, p, req)
	rr := redirectRules(snap)
	if rr.Empty() || !manifest.Servable(p[1:]) {
		return res
	}
	switch res.outcome {
	case outServed, outRetired:
		if !rr.HasForced() {
			return res
		}
		if m := rr.Match(p, true); m != nil {
			return applyRule(snap, m, p, req, res)
		}
		return res
	}
	if m := rr.Match(p, false); m != nil {
		return applyRule(snap, m, p, req, res)
	}
	return res
}

// applyRule turns a matching rule into the answer: a redirect, or the
// rewrite's file (res, what p resolved to, when the rewrite does not
// apply).
func applyRule(snap *manifest.Snapshot, m *manifest.Redirect, p string, req request, res resolution) resolution {
	if !m.Rewrite() {
		return resolution{redirect: m, outcome: outRedirect, status: m.Status}
	}
	target := m.RewritePath(p)
	f := snap.File(target)
	if f == nil {
		f = cleanURL(snap, target)
	}
	if f == nil {
		return resolution{outcome: outNotFound, status: fiber.StatusNotFound}
	}
	if !m.Force && isHTMLFile(f) && res.outcome == outUnknown && !navigation(req.header) {
		return res // a script asked for a missing file: 404 unknown, never a page
	}
	return resolution{file: f, outcome: outRewrite, status: fiber.StatusOK, indirect: true}
}

func redirectRules(snap *manifest.Snapshot) *manifest.RedirectRules {
	if snap.Current == nil || snap.Current.Rules == nil {
		return nil
	}
	return snap.Current.Rules.Redirects
}

func headerRules(snap *manifest.Snapshot) *manifest.HeaderRules {
	if snap.Current == nil || snap.Current.Rules == nil {
		return nil
	}
	return snap.Current.Rules.Headers
}

func isHTMLFile(f *manifest.File) bool { return strings.HasPrefix(f.ContentType, "text/html") }

// writeRedirect answers with a rule's redirect: its status and target,
// the request's query carried over when the target has none (as Netlify
// does). Redirects are never stored (no-store): a rollback must be able
// to undo one, and browsers keep an uncacheable 301 no longer than the
// answer.
func (s *server) writeRedirect(c *fiber.Ctx, snap *manifest.Snapshot, p string, m *manifest.Redirect) outcome {
	loc := escapeLocation(m.Target(p))
	if q := c.Request().URI().QueryString(); len(q) > 0 && !strings.Contains(loc, "?") {
		loc += "?" + string(q)
	}
	c.Response().Header.Set(fiber.HeaderLocation, loc)
	out := s.writeStatus(c, m.Status, outRedirect)
	addRuleHeaders(&c.Response().Header, headerRules(snap).For(p))
	return out
}

// pageRuleHeaders gives an answer served at a URL other than its file's
// own (a clean URL, the SPA fallback, a rewrite, the 404 page) the
// _headers rules of the URL requested instead of the file's: rules are
// by URL, as Netlify's are.
func (s *server) pageRuleHeaders(c *fiber.Ctx, snap *manifest.Snapshot, p string, f *manifest.File) {
	if headerRules(snap).Empty() {
		return // no rules: the file's headers have none either (pages are the current build's)
	}
	fh := s.fileHeaders(snap, f)
	if fh.path == p {
		return
	}
	h := &c.Response().Header
	for _, x := range fh.extra {
		h.Del(x.Name)
	}
	for _, x := range headerRules(snap).For(p) {
		if !strings.EqualFold(x.Name, fiber.HeaderContentType) { // the file's own type stays
			h.AddBytesKV(utils.UnsafeBytes(x.Name), utils.UnsafeBytes(x.Value))
		}
	}
}

// addRuleHeaders adds headers from _headers rules.
func addRuleHeaders(h *fasthttp.ResponseHeader, extra []manifest.Header) {
	for _, x := range extra {
		h.AddBytesKV(utils.UnsafeBytes(x.Name), utils.UnsafeBytes(x.Value))
	}
}

// ruleHeaders are the _headers headers of the file at build path p of
// build b, prepared once per table: its Content-Type when a rule sets one,
// and the others.
func ruleHeaders(b *manifest.Build, p string) (contentType string, extra []manifest.Header) {
	if b.Rules == nil || b.Rules.Headers.Empty() {
		return "", nil
	}
	for _, x := range b.Rules.Headers.For(p) {
		if strings.EqualFold(x.Name, fiber.HeaderContentType) {
			contentType = x.Value
			continue
		}
		extra = append(extra, x)
	}
	return contentType, extra
}

// escapeLocation percent-encodes what may not stand in a Location: the
// captures come from the decoded path, so "/old/a%20b" or "%0d%0a" would
// otherwise put a space or a line break into the header (RFC 3986 §2.1;
// a CRLF would split the response).
func escapeLocation(loc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(loc); i++ {
		c := loc[i]
		if c > ' ' && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}' {
			if b.Len() > 0 {
				b.WriteByte(c)
			}
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(loc) + 8)
			b.WriteString(loc[:i])
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if b.Len() == 0 {
		return loc
	}
	return b.String()
}
