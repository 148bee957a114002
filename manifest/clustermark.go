package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ClusterMark says that the last server on a builds folder was an instance
// of a cluster: the folder's builds are decided in Redis, not by its state
// file, so a command given --builds for it would act on a state no server
// reads. It lives in <builds>/.skewless/cluster.json; a server on its own
// removes it.
type ClusterMark struct {
	Redis   string `json:"redis"` // the URL, password left out
	Cluster string `json:"cluster"`
}

func clusterMarkPath(dir string) string { return filepath.Join(dir, StateDir, "cluster.json") }

// MarkCluster records that dir is served by an instance of cluster m.
func MarkCluster(dir string, m ClusterMark) error {
	if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o755); err != nil {
		return fmt.Errorf("mark %s as a cluster's folder: %w", dir, err)
	}
	b, _ := json.Marshal(m)
	if err := writeFileAtomic(clusterMarkPath(dir), append(b, '\n')); err != nil {
		return fmt.Errorf("mark %s as a cluster's folder: %w", dir, err)
	}
	return nil
}

// UnmarkCluster removes the mark: dir is served by a server on its own.
func UnmarkCluster(dir string) error {
	if err := os.Remove(clusterMarkPath(dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unmark %s as a cluster's folder: %w", dir, err)
	}
	return nil
}

// ClusterOf reads dir's mark; ok is false when it has none.
func ClusterOf(dir string) (m ClusterMark, ok bool) {
	b, err := os.ReadFile(clusterMarkPath(dir))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return ClusterMark{}, false
	}
	return m, true
}
