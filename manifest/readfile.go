package manifest

import (
	"io/fs"
	"syscall"
)

// readFile reads a whole build file whose size the scan saw. It is
// os.ReadFile without what a one-shot read of a regular file does not
// need (an fstat for the size, and making the descriptor non-blocking for
// the poller, which fails for regular files anyway): a third of the cost
// of loading a build of 20,000 small files. The bytes returned are the
// file's as it is now, whatever its size.
func readFile(path string, size int64) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	data := make([]byte, 0, size+1) // +1: the end is seen without growing
	for {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // it grew since the scan
		}
	}
}
