package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// CacheDir is where a server on buildsDir keeps the compressed variants it
// made, so a restart serves them at once instead of compressing again.
func CacheDir(buildsDir string) string { return filepath.Join(buildsDir, StateDir, "cache") }

// diskCache keeps the variants the background compression made, one file
// per content, named by the SHA-256 of the identity bytes and the
// compression policy: the same bytes get the same variants whichever build
// or path they come from. A file is written to a temporary name and
// renamed, so it is whole or absent; its own checksums catch the rest
// (a disk that lost blocks), and a file that fails them is deleted and
// the content compressed again.
//
// The folder is bounded by MaxBytes: prune deletes what no build in use
// needs, least recently written first, until it fits. What a build in use
// needs is never deleted, even over the budget.
type diskCache struct {
	dir      string
	maxBytes int64
	log      *zap.Logger

	// warned: a failing disk is reported once, not once per file.
	warned atomic.Bool

	mu      sync.Mutex
	made    bool  // dir exists
	size    int64 // bytes in dir as of the last prune plus writes since; -1: not counted yet
	pruning bool
}

// Entry layout: magic, the identity's SHA-256 (checked against the name)
// and size, then brotli and gzip sections of length, CRC-32C, bytes. A
// zero length records that the coding does not save enough.
const (
	cacheMagic  = "SKWV\x01"
	cacheHeader = len(cacheMagic) + sha256.Size + 8
	tempPrefix  = ".tmp-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newDiskCache(dir string, maxBytes int64, log *zap.Logger) *diskCache {
	return &diskCache{dir: dir, maxBytes: maxBytes, log: log, size: -1}
}

func (d *diskCache) path(sum [sha256.Size]byte) string {
	return filepath.Join(d.dir, hex.EncodeToString(sum[:])+"."+compressPolicy)
}

// read returns the cached brotli and gzip of the content with this sum and
// identity size (nil for a coding that does not save enough), or false.
func (d *diskCache) read(sum [sha256.Size]byte, size int64) (br, gz []byte, ok bool) {
	p := d.path(sum)
	b, err := os.ReadFile(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.warnOnce("cannot read cached variants; compressing again", err)
		}
		return nil, nil, false
	}
	br, gz, err = decodeCacheEntry(b, sum, size)
	if err != nil {
		d.log.Warn("cached variants are damaged; compressing again", zap.String("path", p), zap.Error(err))
		_ = os.Remove(p)
		return nil, nil, false
	}
	return br, gz, true
}

func decodeCacheEntry(b []byte, sum [sha256.Size]byte, size int64) (br, gz []byte, err error) {
	if len(b) < cacheHeader || string(b[:len(cacheMagic)]) != cacheMagic {
		return nil, nil, errors.New("not a cache entry")
	}
	if !bytes.Equal(b[len(cacheMagic):len(cacheMagic)+sha256.Size], sum[:]) {
		return nil, nil, errors.New("entry of other content")
	}
	if binary.BigEndian.Uint64(b[cacheHeader-8:cacheHeader]) != uint64(size) {
		return nil, nil, errors.New("entry of a content of another size")
	}
	rest := b[cacheHeader:]
	var out [2][]byte
	for i := range out {
		if len(rest) < 8 {
			return nil, nil, errors.New("truncated")
		}
		n, crc := binary.BigEndian.Uint32(rest), binary.BigEndian.Uint32(rest[4:])
		rest = rest[8:]
		if uint64(len(rest)) < uint64(n) {
			return nil, nil, errors.New("truncated")
		}
		if crc32.Checksum(rest[:n], castagnoli) != crc {
			return nil, nil, errors.New("checksum mismatch")
		}
		if n > 0 {
			out[i] = rest[:n:n]
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, nil, errors.New("trailing bytes")
	}
	return out[0], out[1], nil
}

func encodeCacheEntry(sum [sha256.Size]byte, size int64, br, gz []byte) []byte {
	b := make([]byte, 0, cacheHeader+16+len(br)+len(gz))
	b = append(b, cacheMagic...)
	b = append(b, sum[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	for _, v := range [][]byte{br, gz} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(v, castagnoli))
		b = append(b, v...)
	}
	return b
}

// write stores a content's variants (temp file + rename).
func (d *diskCache) write(sum [sha256.Size]byte, size int64, br, gz []byte) error {
	if err := d.ensureDir(); err != nil {
		return err
	}
	entry := encodeCacheEntry(sum, size, br, gz)
	f, err := os.CreateTemp(d.dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("cache variants: %w", err)
	}
	_, err = f.Write(entry)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.path(sum))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("cache variants: %w", err)
	}
	d.mu.Lock()
	if d.size >= 0 {
		d.size += int64(len(entry))
	}
	d.mu.Unlock()
	return nil
}

// warnOnce logs the first failure of the disk; the rest at debug level.
func (d *diskCache) warnOnce(msg string, err error) {
	if d.warned.CompareAndSwap(false, true) {
		d.log.Warn(msg+" (further failures at debug level)", zap.String("dir", d.dir), zap.Error(err))
		return
	}
	d.log.Debug(msg, zap.Error(err))
}

func (d *diskCache) ensureDir() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.made {
		return nil
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("create cache folder: %w", err)
	}
	d.made = true
	return nil
}

// startPrune reports whether a prune should run now (the folder was never
// counted, or is over budget) and marks one as running.
func (d *diskCache) startPrune() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pruning || (d.size >= 0 && d.size <= d.maxBytes) {
		return false
	}
	d.pruning = true
	return true
}

type cacheEntry struct {
	name string
	sum  [sha256.Size]byte
	size int64
	mod  time.Time
}

// prune counts the folder and deletes entries until it fits the budget:
// entries of another policy and leftover temporary files first, then the
// least recently written entries that no content in use needs.
func (d *diskCache) prune(inUse map[[sha256.Size]byte]bool) {
	defer func() {
		d.mu.Lock()
		d.pruning = false
		d.mu.Unlock()
	}()
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("cannot list the variant cache", zap.Error(err))
		}
		d.setSize(0)
		return
	}
	var total int64
	var kept []cacheEntry
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		ce, ok := parseCacheName(e.Name())
		if !ok {
			if !strings.HasPrefix(e.Name(), tempPrefix) || time.Since(info.ModTime()) > time.Hour {
				_ = os.Remove(filepath.Join(d.dir, e.Name()))
			}
			continue
		}
		ce.size, ce.mod = info.Size(), info.ModTime()
		kept = append(kept, ce)
		total += ce.size
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].mod.Before(kept[j].mod) })
	removed, freed := 0, int64(0)
	for _, ce := range kept {
		if total-freed <= d.maxBytes {
			break
		}
		if inUse[ce.sum] {
			continue
		}
		if os.Remove(filepath.Join(d.dir, ce.name)) == nil {
			removed++
			freed += ce.size
		}
	}
	d.setSize(total - freed)
	if removed > 0 || total-freed > d.maxBytes {
		d.log.Info("variant cache pruned", zap.Int("removed", removed), zap.Int64("freed_bytes", freed),
			zap.Int64("bytes", total-freed), zap.Int64("budget", d.maxBytes))
	}
}

func (d *diskCache) setSize(n int64) {
	d.mu.Lock()
	d.size = n
	d.mu.Unlock()
}

// parseCacheName reads "<sha256 hex>.<policy>" for the current policy.
func parseCacheName(name string) (cacheEntry, bool) {
	h, policy, ok := strings.Cut(name, ".")
	var ce cacheEntry
	if !ok || policy != compressPolicy || len(h) != 2*sha256.Size {
		return ce, false
	}
	if _, err := hex.Decode(ce.sum[:], []byte(h)); err != nil {
		return ce, false
	}
	ce.name = name
	return ce, true
}
