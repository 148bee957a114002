package manifest

// Content types (CONTRACT "Headers": a correct Content-Type, with
// charset=utf-8 for text types; files are never sniffed): what a build
// ships, checked against nginx's mime.types and the IANA registrations it
// lacks or names differently.

import (
	"strings"
	"testing"
)

var mediaTypeTests = []struct {
	name         string
	want         string
	compressible bool
}{
	// Pages, scripts, styles, data.
	{"index.html", "text/html; charset=utf-8", true},
	{"page.HTM", "text/html; charset=utf-8", true},
	{"app.js", "text/javascript; charset=utf-8", true}, // RFC 9239 (nginx: application/javascript)
	{"worker.mjs", "text/javascript; charset=utf-8", true},
	{"app.js.map", "application/json; charset=utf-8", true},
	{"style.css", "text/css; charset=utf-8", true},
	{"data.json", "application/json; charset=utf-8", true},
	{"schema.jsonld", "application/ld+json; charset=utf-8", true},
	{"site.webmanifest", "application/manifest+json; charset=utf-8", true},
	{"sitemap.xml", "application/xml; charset=utf-8", true},
	{"feed.atom", "application/atom+xml; charset=utf-8", true},
	{"feed.rss", "application/rss+xml; charset=utf-8", true},
	{"robots.txt", "text/plain; charset=utf-8", true},
	{"captions.vtt", "text/vtt; charset=utf-8", true},
	{"app.wasm", "application/wasm", true},
	// Images.
	{"logo.svg", "image/svg+xml; charset=utf-8", true},
	{"favicon.ico", "image/x-icon", true},
	{"photo.avif", "image/avif", false},
	{"photo.webp", "image/webp", false},
	{"anim.apng", "image/apng", false},
	{"photo.jxl", "image/jxl", false},
	{"photo.JPG", "image/jpeg", false},
	// Fonts.
	{"inter.woff2", "font/woff2", false},
	{"inter.woff", "font/woff", false},
	{"inter.ttf", "font/ttf", true},
	{"inter.otf", "font/otf", true},
	// 3D models, media.
	{"scene.gltf", "model/gltf+json; charset=utf-8", true},
	{"scene.glb", "model/gltf-binary", false},
	{"clip.mp4", "video/mp4", false},
	{"clip.webm", "video/webm", false},
	{"stream.m3u8", "application/vnd.apple.mpegurl", true},
	{"sound.mp3", "audio/mpeg", false},
	{"sound.opus", "audio/ogg", false},
	// Downloads.
	{"manual.pdf", "application/pdf", false},
	{"bundle.zip", "application/zip", false},
	// Unknown: opaque bytes, never sniffed.
	{"LICENSE", "application/octet-stream", false},
	{"data.bin", "application/octet-stream", false},
	{"archive.unknownext", "application/octet-stream", false},
}

func TestTypeOf(t *testing.T) {
	for _, tt := range mediaTypeTests {
		got := typeOf("assets/" + tt.name)
		if got.contentType != tt.want || got.compressible != tt.compressible {
			t.Errorf("typeOf(%q) = %q (compressible %v), want %q (%v)", tt.name, got.contentType, got.compressible, tt.want, tt.compressible)
		}
	}
}

// TestTextTypesNameTheirCharset: every text type (text/*, and JSON and
// XML types) says UTF-8, and no binary one does.
func TestTextTypesNameTheirCharset(t *testing.T) {
	for ext, mt := range mediaTypes {
		essence, params, _ := strings.Cut(mt.contentType, ";")
		text := strings.HasPrefix(essence, "text/") || strings.HasSuffix(essence, "+json") ||
			strings.HasSuffix(essence, "+xml") || essence == "application/json" || essence == "application/xml"
		if hasCharset := strings.TrimSpace(params) == "charset=utf-8"; hasCharset != text {
			t.Errorf("%s: %q; want charset=utf-8 exactly on text types", ext, mt.contentType)
		}
		if ext != strings.ToLower(ext) || !strings.HasPrefix(ext, ".") {
			t.Errorf("%q: extensions are looked up lower-case, with their dot", ext)
		}
	}
}
