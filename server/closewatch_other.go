//go:build !linux

package main

import (
	"errors"
	"net"
)

// closeWatcher is Linux's (epoll): elsewhere a stream's gone client is
// noticed by the next heartbeat's failing write.
type closeWatcher struct{}

func newCloseWatcher() (*closeWatcher, error) {
	return nil, errors.New("watching for closed streams needs Linux")
}

func (w *closeWatcher) watch(net.Conn) (<-chan struct{}, func()) { return nil, func() {} }

// Close does nothing.
func (w *closeWatcher) Close() {}
