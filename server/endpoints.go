package main

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/skewless/skewless/manifest"
)

// endpoint serves /_skewless/...: the helper, the version, health and the
// event stream. Every JSON answer is no-store: it describes this instant.
func (s *server) endpoint(c *fiber.Ctx, snap *manifest.Snapshot, p string) outcome {
	switch p {
	case "/_skewless/client.js":
		s.writeFile(c, &manifest.File{Content: s.client}, outEndpoint)
		return outEndpoint
	case "/_skewless/version":
		return s.writeJSON(c, fiber.StatusOK, versionBody(snap))
	case "/_skewless/health":
		if snap.Current == nil {
			return s.writeJSON(c, fiber.StatusServiceUnavailable, map[string]string{"status": "no current build"})
		}
		return s.writeJSON(c, fiber.StatusOK, map[string]string{"status": "ok", "version": snap.Version()})
	case "/_skewless/events":
		return s.events.serve(c, snap.Version())
	}
	return s.writeStatus(c, fiber.StatusNotFound, outEndpoint)
}

type versionJSON struct {
	Version string      `json:"version"`
	Builds  []buildJSON `json:"builds"`
}

type buildJSON struct {
	Version string `json:"version"`
	State   string `json:"state"`
}

// versionBody lists the builds a client can meet: current, live, retired.
func versionBody(snap *manifest.Snapshot) versionJSON {
	out := versionJSON{Version: snap.Version(), Builds: []buildJSON{}}
	for _, b := range snap.Builds {
		switch b.State {
		case manifest.Current, manifest.Live, manifest.Retired:
			out.Builds = append(out.Builds, buildJSON{b.Version, b.StateName})
		}
	}
	return out
}

func (s *server) writeJSON(c *fiber.Ctx, code int, v any) outcome {
	b, err := json.Marshal(v)
	if err != nil {
		return s.writeStatus(c, fiber.StatusInternalServerError, outEndpoint)
	}
	h := &c.Response().Header
	h.Set("Cache-Control", cacheNever)
	h.SetContentType("application/json; charset=utf-8")
	c.Status(code)
	if c.Request().Header.IsHead() {
		c.Response().SkipBody = true
		h.SetContentLength(len(b))
		return outEndpoint
	}
	c.Response().SetBodyRaw(b)
	return outEndpoint
}
