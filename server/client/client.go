// Package client holds the browser helper skewless injects into every HTML
// page, embedded into the binary.
package client

import _ "embed"

// JS is the helper script served at /_skewless/client.js: client.js
// minified by scripts/build-client.sh.
//
//go:embed client.min.js
var JS []byte

// Source is the readable helper, client.js, that JS is built from.
//
//go:embed client.js
var Source []byte
