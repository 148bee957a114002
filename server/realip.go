package main

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"
)

var (
	hdrXForwardedFor  = []byte("X-Forwarded-For")
	nameXForwardedFor = "X-Forwarded-For"
	hdrReferer        = []byte("Referer")
)

// clientAddr is the address a request came from, for access lines: the
// peer's, or with --trust-proxy the client a trusted proxy names.
func (s *server) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerAddr(ctx)
	trusted := s.cfg.TrustProxy.prefixes
	if len(trusted) == 0 || !contains(trusted, peer) || len(ctx.Request.Header.PeekCanonical(hdrXForwardedFor)) == 0 {
		return peer
	}
	return realClient(peer, ctx.Request.Header.PeekAll(nameXForwardedFor), trusted)
}

// peerAddr is the address of the connection's other end, IPv4-mapped
// IPv6 as IPv4; the zero Addr when there is none.
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	a, ok := ctx.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(a.IP)
	return ip.Unmap()
}

// realClient is the client of a request whose peer sent X-Forwarded-For
// lines xff, as nginx's realip module with real_ip_recursive on finds it:
// when the peer is trusted, the right-most address of the list that is
// not, or the left-most when all are. A malformed entry met before an
// untrusted address makes the list worthless: the peer is the client.
func realClient(peer netip.Addr, xff [][]byte, trusted []netip.Prefix) netip.Addr {
	if !contains(trusted, peer) {
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		for list := xff[i]; len(list) > 0; {
			var item []byte
			if j := bytes.LastIndexByte(list, ','); j >= 0 {
				list, item = list[:j], list[j+1:]
			} else {
				list, item = nil, list
			}
			item = bytes.TrimSpace(item)
			if len(item) == 0 {
				continue
			}
			a, ok := parseForwardedAddr(item)
			if !ok {
				return peer
			}
			if client = a; !contains(trusted, a) {
				return a
			}
		}
	}
	return client
}

// parseForwardedAddr parses one X-Forwarded-For entry: an address, with a
// port or not ("192.0.2.1", "192.0.2.1:51000", "2001:db8::1",
// "[2001:db8::1]:51000").
func parseForwardedAddr(b []byte) (netip.Addr, bool) {
	s := utils.UnsafeString(b)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
