package httpguard

import (
	"net/netip"
	"strings"
)

// IsLoopback reports whether host (a URL's Hostname) is "localhost" itself
// or a literal loopback address (127.0.0.0/8, ::1, an IPv4-mapped 127.x).
// Other names under .localhost are not trusted: they are resolved like any
// name, and a resolver may answer with any address, so they get no
// exemption from HTTPS.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
