package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ServerLock is held by the one server of a builds folder for its whole
// life: two servers deciding activations on one folder would each activate
// every drop (one deploy, two sequence numbers, two events). It is a flock
// on <builds>/.skewless/server.lock, which the kernel releases when the
// process ends however it ends; the file names the holder.
type ServerLock struct {
	f *os.File
}

// LockHolder is who holds a ServerLock.
type LockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

func (h LockHolder) String() string {
	if h.PID == 0 {
		return "another skewless process"
	}
	return fmt.Sprintf("skewless pid %d on %s (since %s)", h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// LockedError is returned when another server holds the builds folder.
type LockedError struct {
	Dir    string
	Holder LockHolder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("builds folder %s is already served by %s: stop that server, or serve another folder", e.Dir, e.Holder)
}

func serverLockPath(dir string) string { return filepath.Join(dir, StateDir, "server.lock") }

// LockServer takes the server lock of the builds folder dir at once, or
// returns a *LockedError naming its holder.
func LockServer(dir string) (*ServerLock, error) {
	if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o755); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	f, err := os.OpenFile(serverLockPath(dir), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open server lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := readHolder(dir)
			return nil, &LockedError{Dir: dir, Holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", serverLockPath(dir), err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(LockHolder{PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &ServerLock{f: f}, nil
}

// Release lets the lock go. The file stays: removing it would let a
// second server lock a new file while a third still waits on the old one.
func (l *ServerLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// ServerRunning reports whether a server holds the builds folder dir, and
// who.
func ServerRunning(dir string) (LockHolder, bool) {
	f, err := os.Open(serverLockPath(dir))
	if err != nil {
		return LockHolder{}, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return LockHolder{}, false
	}
	h, _ := readHolder(dir)
	return h, true
}

func readHolder(dir string) (LockHolder, error) {
	var h LockHolder
	b, err := os.ReadFile(serverLockPath(dir))
	if err == nil {
		err = json.Unmarshal(b, &h)
	}
	return h, err
}
