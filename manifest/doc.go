// Package manifest knows what is deployed: it scans a build folder into an
// immutable snapshot of everything a request needs, classifies content-hashed
// names, validates builds, and keeps the registry of builds (current, live,
// ready, retired): a watcher reports what happens to the build folders, a
// pure planner decides, and one loop applies its decisions, with the state
// behind a store (a file beside the builds today).
//
// It knows nothing of HTTP, Fiber or JavaScript: the server passes in what it
// needs (an HTML transform, for instance) through Config structs.
package manifest
