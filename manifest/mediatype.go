package manifest

import (
	"path"
	"strings"
)

// mediaType is what the loader knows about a file extension.
type mediaType struct {
	contentType  string
	compressible bool
}

// mediaTypes is the fixed table of types a web build ships: nginx's
// mime.types for everything a site serves, with the IANA names where
// nginx keeps an old one (text/javascript, RFC 9239; image/bmp), and the
// types it lacks that builds now ship (modules, source maps, manifests,
// subtitles, JSON-LD, glTF models, APNG, JPEG XL). It does not depend on
// the machine's mime.types, so every host answers the same. Text types
// name their charset: a build's text is UTF-8, and a browser that guesses
// another garbles it. Compressible: what gzip and brotli shrink.
var mediaTypes = map[string]mediaType{
	// Documents, scripts, styles, data.
	".html":        {"text/html; charset=utf-8", true},
	".htm":         {"text/html; charset=utf-8", true},
	".xhtml":       {"application/xhtml+xml; charset=utf-8", true},
	".js":          {"text/javascript; charset=utf-8", true},
	".mjs":         {"text/javascript; charset=utf-8", true},
	".cjs":         {"text/javascript; charset=utf-8", true},
	".css":         {"text/css; charset=utf-8", true},
	".json":        {"application/json; charset=utf-8", true},
	".map":         {"application/json; charset=utf-8", true},
	".jsonld":      {"application/ld+json; charset=utf-8", true},
	".webmanifest": {"application/manifest+json; charset=utf-8", true},
	".xml":         {"application/xml; charset=utf-8", true},
	".atom":        {"application/atom+xml; charset=utf-8", true},
	".rss":         {"application/rss+xml; charset=utf-8", true},
	".txt":         {"text/plain; charset=utf-8", true},
	".md":          {"text/markdown; charset=utf-8", true},
	".csv":         {"text/csv; charset=utf-8", true},
	".vtt":         {"text/vtt; charset=utf-8", true},
	".ics":         {"text/calendar; charset=utf-8", true},
	".wasm":        {"application/wasm", true},
	// Images.
	".svg":  {"image/svg+xml; charset=utf-8", true},
	".ico":  {"image/x-icon", true},
	".bmp":  {"image/bmp", true},
	".png":  {"image/png", false},
	".apng": {"image/apng", false},
	".jpg":  {"image/jpeg", false},
	".jpeg": {"image/jpeg", false},
	".gif":  {"image/gif", false},
	".webp": {"image/webp", false},
	".avif": {"image/avif", false},
	".jxl":  {"image/jxl", false},
	".tif":  {"image/tiff", false},
	".tiff": {"image/tiff", false},
	// Fonts.
	".ttf":   {"font/ttf", true},
	".otf":   {"font/otf", true},
	".eot":   {"application/vnd.ms-fontobject", true},
	".woff":  {"font/woff", false},
	".woff2": {"font/woff2", false},
	// 3D models.
	".gltf": {"model/gltf+json; charset=utf-8", true},
	".glb":  {"model/gltf-binary", false},
	// Audio and video.
	".mp4":  {"video/mp4", false},
	".m4v":  {"video/x-m4v", false},
	".webm": {"video/webm", false},
	".ogv":  {"video/ogg", false},
	".mov":  {"video/quicktime", false},
	".ts":   {"video/mp2t", false},
	".m3u8": {"application/vnd.apple.mpegurl", true},
	".mpd":  {"application/dash+xml; charset=utf-8", true},
	".mp3":  {"audio/mpeg", false},
	".m4a":  {"audio/x-m4a", false},
	".aac":  {"audio/aac", false},
	".ogg":  {"audio/ogg", false},
	".oga":  {"audio/ogg", false},
	".opus": {"audio/ogg", false},
	".wav":  {"audio/wav", false},
	".flac": {"audio/flac", false},
	".weba": {"audio/webm", false},
	// Downloads.
	".pdf":  {"application/pdf", false},
	".zip":  {"application/zip", false},
	".gz":   {"application/gzip", false},
	".tar":  {"application/x-tar", true},
	".7z":   {"application/x-7z-compressed", false},
	".rtf":  {"application/rtf", true},
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
	".pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
}

// typeOf returns the media type for a file name; unknown extensions are
// served as opaque bytes, never sniffed.
func typeOf(name string) mediaType {
	if t, ok := mediaTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return mediaType{contentType: "application/octet-stream"}
}

// IsHTML reports whether a file name is an HTML document.
func IsHTML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}
