package main

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// epollET asks for edge-triggered events (syscall.EPOLLET is negative on
// some architectures).
const epollET uint32 = 1 << 31

// closeWatcher tells event streams that their client has gone, closing
// or resetting the connection: one epoll instance watches every open
// stream's socket for the peer's FIN (EPOLLRDHUP) or a reset (EPOLLHUP,
// EPOLLERR), and one goroutine waits on it. A stream writes only now and
// then and reads never, so without it a gone client would be noticed at
// the next heartbeat's failing write; a reading goroutine per stream would
// double the goroutines (and the stacks the collector scans) of 10,000
// open streams.
type closeWatcher struct {
	epfd int
	wake [2]int // a pipe whose read end is registered: Close writes to it

	mu      sync.Mutex
	next    int32 // the last registration's id; 0 is the pipe
	gone    map[int32]chan struct{}
	closing bool
	done    sync.WaitGroup
}

func newCloseWatcher() (*closeWatcher, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	w := &closeWatcher{epfd: epfd, gone: map[int32]chan struct{}{}}
	if err := syscall.Pipe2(w.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, w.wake[0], &ev); err != nil {
		w.closeFDs()
		return nil, err
	}
	w.done.Go(w.run)
	return w, nil
}

// watch returns a channel closed once conn's peer has closed or reset
// it, and a function that ends the watch, to call before conn is closed
// (an id, not the descriptor, names the registration: a stale event
// cannot reach the next connection given the same descriptor).
func (w *closeWatcher) watch(conn net.Conn) (<-chan struct{}, func()) {
	fd, ok := socketFD(conn)
	if !ok {
		return nil, func() {}
	}
	ch := make(chan struct{})
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return nil, func() {}
	}
	w.next++
	if w.next <= 0 {
		w.next = 1
	}
	id := w.next
	w.gone[id] = ch
	w.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | epollET, Fd: id}
	if syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		w.forget(id)
		return nil, func() {}
	}
	return ch, func() {
		_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		w.forget(id)
	}
}

func (w *closeWatcher) forget(id int32) {
	w.mu.Lock()
	delete(w.gone, id)
	w.mu.Unlock()
}

// socketFD is conn's descriptor, when it has one.
func socketFD(conn net.Conn) (int, bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

func (w *closeWatcher) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == 0 {
				return // Close
			}
			if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				w.signal(ev.Fd)
			}
		}
	}
}

// signal closes registration id's channel, once.
func (w *closeWatcher) signal(id int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.gone[id]; ok {
		close(ch)
		delete(w.gone, id)
	}
}

// Close stops the watcher and waits for its goroutine.
func (w *closeWatcher) Close() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.closing = true
	w.mu.Unlock()
	_, _ = syscall.Write(w.wake[1], []byte{0})
	w.done.Wait()
	w.closeFDs()
}

func (w *closeWatcher) closeFDs() {
	syscall.Close(w.wake[0])
	syscall.Close(w.wake[1])
	syscall.Close(w.epfd)
}
