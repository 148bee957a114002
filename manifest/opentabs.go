package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// OpenTabs is what a running server reports of the browser tabs that have
// its event stream open, by the build each loaded (the streams' ?v=
// values): <builds>/.skewless/tabs.json. The server rewrites it
// atomically when the counts change, at most once a second, and at least
// every TabsRefresh, so a reader tells a running server's report from one
// a stopped server left behind (Fresh).
type OpenTabs struct {
	Updated time.Time      `json:"updated"`
	Tabs    map[string]int `json:"tabs"` // by version; versions with none are left out
}

// TabsRefresh is how often a running server rewrites its report of open
// tabs even when nothing changed.
const TabsRefresh = time.Minute

// Fresh reports whether the report was written recently enough, at now,
// to come from a server still running.
func (t OpenTabs) Fresh(now time.Time) bool {
	return !t.Updated.IsZero() && now.Sub(t.Updated) < 2*TabsRefresh+10*time.Second
}

func tabsPath(buildsDir string) string { return filepath.Join(buildsDir, StateDir, "tabs.json") }

// WriteOpenTabs replaces the report of the builds folder atomically.
func WriteOpenTabs(buildsDir string, t OpenTabs) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode open tabs: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(buildsDir, StateDir), 0o755); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	if err := writeFileAtomic(tabsPath(buildsDir), b); err != nil {
		return fmt.Errorf("write open tabs: %w", err)
	}
	return nil
}

// RemoveOpenTabs removes the report: its server stops.
func RemoveOpenTabs(buildsDir string) error {
	if err := os.Remove(tabsPath(buildsDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove open tabs: %w", err)
	}
	return nil
}

// ReadOpenTabs reads the report of the builds folder; a missing one is an
// empty report (no server, or none that reported).
func ReadOpenTabs(buildsDir string) (OpenTabs, error) {
	var t OpenTabs
	b, err := os.ReadFile(tabsPath(buildsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("read open tabs: %w", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return OpenTabs{}, fmt.Errorf("read open tabs: %s: %w", tabsPath(buildsDir), err)
	}
	return t, nil
}
