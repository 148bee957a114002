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

// mediaTypes is the fixed table of types a web build ships. It does not
// depend on the machine's mime.types, so every host answers the same.
var mediaTypes = map[string]mediaType{
	".html":        {"text/html; charset=utf-8", true},
	".htm":         {"text/html; charset=utf-8", true},
	".js":          {"text/javascript; charset=utf-8", true},
	".mjs":         {"text/javascript; charset=utf-8", true},
	".cjs":         {"text/javascript; charset=utf-8", true},
	".css":         {"text/css; charset=utf-8", true},
	".json":        {"application/json; charset=utf-8", true},
	".map":         {"application/json; charset=utf-8", true},
	".webmanifest": {"application/manifest+json; charset=utf-8", true},
	".xml":         {"application/xml; charset=utf-8", true},
	".txt":         {"text/plain; charset=utf-8", true},
	".md":          {"text/markdown; charset=utf-8", true},
	".csv":         {"text/csv; charset=utf-8", true},
	".svg":         {"image/svg+xml; charset=utf-8", true},
	".wasm":        {"application/wasm", true},
	".ico":         {"image/x-icon", true},
	".ttf":         {"font/ttf", true},
	".otf":         {"font/otf", true},
	".eot":         {"application/vnd.ms-fontobject", true},
	".woff":        {"font/woff", false},
	".woff2":       {"font/woff2", false},
	".png":         {"image/png", false},
	".jpg":         {"image/jpeg", false},
	".jpeg":        {"image/jpeg", false},
	".gif":         {"image/gif", false},
	".webp":        {"image/webp", false},
	".avif":        {"image/avif", false},
	".mp4":         {"video/mp4", false},
	".webm":        {"video/webm", false},
	".mp3":         {"audio/mpeg", false},
	".ogg":         {"audio/ogg", false},
	".wav":         {"audio/wav", false},
	".pdf":         {"application/pdf", false},
	".zip":         {"application/zip", false},
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
