package main

import (
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
//		zap.Int64("duration_us", ...), zap.String("outcome", ...))
//
// in the JSON or console format, appended by hand: through zap's entry,
// fields and reflection-free encoder the line cost about as much as the
// rest of an asset hit (accesslog_test.go holds the two to the same output).
type accessLog struct {
	out     *lineWriter
	console bool
	level   string // the console format's level, as its level encoder writes it
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
	return a
}

// write logs one request that started at start and is answered now. The
// line is made straight in the writer's buffer. The clock is read once,
// monotonic only: the time of day is start's plus the duration.
func (a *accessLog) write(method, path []byte, status, bytes int, start time.Time, out outcome) {
	d := time.Since(start)
	b := a.out.lines()
	a.out.release(a.appendLine(b, start.Add(d), method, path, status, bytes, d.Microseconds(), out.String()))
}

// appendLine appends the line for one request to b.
func (a *accessLog) appendLine(b []byte, now time.Time, method, path []byte, status, bytes int, durationUS int64, out string) []byte {
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
	b = appendJSONString(b, method)
	b = append(a.key(append(b, '"'), "path"), '"')
	b = append(appendJSONString(b, path), '"')
	b = strconv.AppendInt(a.key(b, "status"), int64(status), 10)
	b = strconv.AppendInt(a.key(b, "bytes"), int64(bytes), 10)
	b = strconv.AppendInt(a.key(b, "duration_us"), durationUS, 10)
	b = append(append(a.key(b, "outcome"), '"'), out...) // outcomes are plain words
	return append(b, "\"}\n"...)
}

// key appends the separator and the key of the next field.
func (a *accessLog) key(b []byte, k string) []byte {
	if a.console {
		return append(append(append(b, `, "`...), k...), `": `...)
	}
	return append(append(append(b, `,"`...), k...), `":`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped as zap escapes strings: `\` and `"`
// backslashed, \n \r \t by name, other bytes below 0x20 as \u00XX, and
// every byte of invalid UTF-8 as \ufffd.
func appendJSONString(b, s []byte) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[last:i]...)
			b = append(b, `\ufffd`...)
			i++
			last = i
			continue
		}
		if c >= 0x20 && c != '\\' && c != '"' {
			i++
			continue
		}
		b = append(b, s[last:i]...)
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
		i++
		last = i
	}
	return append(b, s[last:]...)
}
