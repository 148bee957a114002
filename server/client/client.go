// Package client holds the browser helper skewless injects into every HTML
// page, embedded into the binary.
package client

import _ "embed"

// JS is the helper script served at /_skewless/client.js.
//
//go:embed client.js
var JS []byte
