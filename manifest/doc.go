// Package manifest knows what is deployed: it scans a build folder into an
// immutable snapshot of everything a request needs, classifies content-hashed
// names, validates builds, keeps the registry of builds (current, live,
// retired) with its persisted state, and watches the builds folder.
//
// It knows nothing of HTTP, Fiber or JavaScript: the server passes in what it
// needs (an HTML transform, for instance) through Config structs.
package manifest
