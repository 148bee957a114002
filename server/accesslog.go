package main

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"
)

// accessLog writes one line per request: byte for byte the line zap's
// encoder writes for
//
//	log.Named("http").Info("request", zap.String("method", ...),
//		zap.String("path", ...), zap.Int("status", ...), zap.Int("bytes", ...),
//		zap.Int64("duration_us", ...), zap.String("outcome", ...),
//		zap.String("client", ...), zap.String("host", ...),
//		zap.String("query", ...), zap.String("referer", ...),
//		zap.String("user_agent", ...))
//
// in the JSON or console format, appended by hand: through zap's entry,
// fields and reflection-free encoder the line cost about as much as the
// rest of an asset hit (accesslog_test.go holds the two to the same output).
type accessLog struct {
	out     *lineWriter
	console bool
	level   string // the console format's level, as its level encoder writes it
	// joints[i] is what goes between the value of field i and the value of
	// field i+1 (quotes, separators, the key), made once; the last one ends
	// the line.
	joints [len(accessFields)]string
}

// accessFields are the fields of an access line after the message, in
// order, and whether each is a string.
var accessFields = [...]struct {
	key    string
	quoted bool
}{
	{"method", true}, {"path", true}, {"status", false}, {"bytes", false}, {"duration_us", false},
	{"outcome", true}, {"client", true}, {"host", true}, {"query", true}, {"referer", true}, {"user_agent", true},
}

// accessRecord is what an access line says about one request. The byte
// slices are the request's own, valid until its handler returns.
type accessRecord struct {
	method, path []byte
	status       int
	bytes        int
	outcome      string
	client       netip.Addr // the zero Addr when unknown: ""
	host, query  []byte
	referer, ua  []byte
}

// newAccessLog writes lines in the format of encoder config ec (JSON, or
// console when console is set) to out.
func newAccessLog(out *lineWriter, console bool, ec zapcore.EncoderConfig) *accessLog {
	a := &accessLog{out: out, console: console}
	if console {
		// Whatever the level encoder writes for info (colour included), once.
		only := zapcore.EncoderConfig{LevelKey: "L", EncodeLevel: ec.EncodeLevel, ConsoleSeparator: ec.ConsoleSeparator}
		if b, err := zapcore.NewConsoleEncoder(only).EncodeEntry(zapcore.Entry{Level: zapcore.InfoLevel}, nil); err == nil {
			a.level = string(b.Bytes()[:b.Len()-1]) // without the line ending
			b.Free()
		}
	}
	sep, colon := ",", ":"
	if console {
		sep, colon = ", ", ": "
	}
	for i, f := range accessFields {
		j := ""
		if f.quoted {
			j = `"`
		}
		if i+1 == len(accessFields) {
			a.joints[i] = j + "}\n"
			break
		}
		next := accessFields[i+1]
		j += sep + `"` + next.key + `"` + colon
		if next.quoted {
			j += `"`
		}
		a.joints[i] = j
	}
	return a
}

// write logs one request that started at start and is answered now. The
// line is made straight in the writer's buffer. The clock is read once,
// monotonic only: the time of day is start's plus the duration.
func (a *accessLog) write(r *accessRecord, start time.Time) {
	d := time.Since(start)
	b := a.out.lines()
	a.out.release(a.appendLine(b, start.Add(d), r, d.Microseconds()))
}

// appendLine appends the line for one request to b.
func (a *accessLog) appendLine(b []byte, now time.Time, r *accessRecord, durationUS int64) []byte {
	if a.console {
		b = append(b, stamp(now)...)
		b = append(b, '\t')
		b = append(b, a.level...)
		b = append(b, "\thttp\trequest\t{\"method\": \""...)
	} else {
		b = append(b, `{"level":"info","ts":"`...)
		b = append(b, stamp(now)...)
		b = append(b, `","logger":"http","msg":"request","method":"`...)
	}
	j := &a.joints
	b = appendJSONString(b, r.method)
	b = appendJSONString(append(b, j[0]...), r.path)
	b = strconv.AppendInt(append(b, j[1]...), int64(r.status), 10)
	b = strconv.AppendInt(append(b, j[2]...), int64(r.bytes), 10)
	b = strconv.AppendInt(append(b, j[3]...), durationUS, 10)
	b = append(append(b, j[4]...), r.outcome...) // outcomes are plain words
	b = append(b, j[5]...)
	if r.client.IsValid() {
		b = r.client.AppendTo(b) // digits, dots, colons and hex: nothing to escape
	}
	b = appendJSONString(append(b, j[6]...), r.host)
	b = appendJSONString(append(b, j[7]...), r.query)
	b = appendJSONString(append(b, j[8]...), r.referer)
	b = appendJSONString(append(b, j[9]...), r.ua)
	return append(b, j[10]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped as zap escapes strings: `\` and `"`
// backslashed, \n \r \t by name, other bytes below 0x20 as \u00XX, and
// every byte of invalid UTF-8 as \ufffd. Runs that need none of it (most
// of a path, a user agent, a referrer) are found eight bytes at a time and
// copied whole.
func appendJSONString(b, s []byte) []byte {
	for len(s) > 0 {
		n := plainPrefix(s)
		b, s = append(b, s[:n]...), s[n:]
		if len(s) == 0 {
			break
		}
		c := s[0]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s)
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[:size]...)
			}
			s = s[size:]
			continue
		}
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		s = s[1:]
	}
	return b
}

// plainPrefix returns how many bytes at the start of s are ASCII that a
// JSON string holds as it is: from 0x20 up, but for `"` and `\`.
func plainPrefix(s []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		// Per byte, the high bit of: x itself (non-ASCII), x-0x20 where x
		// is below 0x20, and x^c-1 where x equals c (the zero-byte test).
		ctl := (x - 0x20*ones) &^ x
		q := x ^ '"'*ones
		bs := x ^ '\\'*ones
		if (x|ctl|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			break
		}
	}
	return i
}
