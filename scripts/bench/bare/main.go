// Command bare is the ceiling of skewless's stack for scripts/bench.sh: a
// Fiber handler that answers with bytes read into memory at start and the
// headers an asset response carries, and does nothing else: no resolution,
// no negotiation, no conditional requests, no logging.
package main

import (
	"flag"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/gofiber/fiber/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	root := flag.String("root", ".", "folder whose files are served, by path")
	flag.Parse()
	bodies := map[string][]byte{}
	err := filepath.WalkDir(*root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(*root, p)
		bodies["/"+filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/*", func(c *fiber.Ctx) error {
		b, ok := bodies[c.Path()]
		if !ok {
			return c.SendStatus(fiber.StatusNotFound)
		}
		h := &c.Response().Header
		h.SetContentType("text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"0123456789abcdef"`)
		c.Response().SetBodyRaw(b)
		return nil
	})
	log.Fatal(app.Listen(*addr))
}
