package manifest

import (
	"strings"

	"github.com/fsnotify/fsnotify"
)

// fsChange is what one fsnotify event means for the builds folder.
type fsChange uint8

const (
	fsIgnore        fsChange = iota
	fsBuildsDirGone          // the builds folder itself was moved or removed
	fsFolderCreated          // a version folder appeared
	fsFolderRemoved          // a version folder went (or was renamed away)
	fsInside                 // something inside a version folder changed
	fsInsideCreated          // something was created inside one (maybe a folder to watch)
)

// classifyFSEvent says what an event on rel (a slash-separated path
// relative to the builds folder) means. It decides on names alone; the
// watcher checks with the filesystem what an event cannot say (whether a
// created entry is a folder, whether a removed one is really gone).
func classifyFSEvent(rel string, op fsnotify.Op) (fsChange, string) {
	if rel == "." {
		if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
			return fsBuildsDirGone, ""
		}
		return fsIgnore, ""
	}
	top, inner, _ := strings.Cut(rel, "/")
	if !ValidVersion(top) {
		return fsIgnore, "" // .skewless, _staging, files, "..": not builds
	}
	switch {
	case inner == "" && op.Has(fsnotify.Create):
		return fsFolderCreated, top
	case inner == "" && (op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename)):
		return fsFolderRemoved, top
	case inner == "":
		return fsIgnore, "" // the folder's own mode or times
	case op.Has(fsnotify.Create):
		return fsInsideCreated, top
	case op&(fsnotify.Write|fsnotify.Remove|fsnotify.Rename|fsnotify.Chmod) != 0:
		return fsInside, top
	}
	return fsIgnore, ""
}
