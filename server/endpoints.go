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
		s.writeFile(c, snap, &manifest.File{Content: s.client}, outEndpoint)
		return outEndpoint
	case "/_skewless/version":
		return s.writeJSON(c, fiber.StatusOK, s.bodiesOf(snap).version)
	case "/_skewless/health":
		b := s.bodiesOf(snap)
		return s.writeJSON(c, b.healthCode, b.health)
	case "/_skewless/events":
		if !s.events.serve(c, snap.Version()) {
			c.Set("Retry-After", "10")
			return s.writeStatus(c, fiber.StatusServiceUnavailable, outUnavailable)
		}
		return outEndpoint
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

// versionBody lists the builds a client can meet: current, live, ready,
// retired, blocked (the helper leaves a blocked build).
func versionBody(snap *manifest.Snapshot) versionJSON {
	out := versionJSON{Version: snap.Version(), Builds: []buildJSON{}}
	for _, b := range snap.Builds {
		switch b.State {
		case manifest.Current, manifest.Live, manifest.Ready, manifest.Retired, manifest.Blocked:
			out.Builds = append(out.Builds, buildJSON{b.Version, b.State.String()})
		}
	}
	return out
}

// snapshotBodies are the version and health answers for one snapshot,
// made once: every tab asks when it becomes visible, and APIs poll.
type snapshotBodies struct {
	snap            *manifest.Snapshot
	version, health []byte
	healthCode      int
}

// bodiesOf returns the answers for snap, made on the first request that
// sees it.
func (s *server) bodiesOf(snap *manifest.Snapshot) *snapshotBodies {
	if b := s.bodies.Load(); b != nil && b.snap == snap {
		return b
	}
	// Marshalling strings cannot fail.
	b := &snapshotBodies{snap: snap, healthCode: fiber.StatusOK}
	b.version, _ = json.Marshal(versionBody(snap))
	switch {
	case snap.Current == nil && snap.Cluster != nil && snap.Cluster.Current != "":
		b.healthCode = fiber.StatusServiceUnavailable
		b.health, _ = json.Marshal(map[string]string{"status": "lacks the cluster's current build", "version": snap.Cluster.Current})
	case snap.Current == nil:
		b.healthCode = fiber.StatusServiceUnavailable
		b.health, _ = json.Marshal(map[string]string{"status": "no current build"})
	default:
		b.health, _ = json.Marshal(map[string]string{"status": "ok", "version": snap.Version()})
	}
	s.bodies.Store(b)
	return b
}

// writeJSON answers with a JSON body b that must not change afterwards.
func (s *server) writeJSON(c *fiber.Ctx, code int, b []byte) outcome {
	h := &c.Response().Header
	h.AddBytesKV(hdrCacheControl, valNever)
	h.AddBytesKV(hdrNoSniff, valNoSniff)
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
