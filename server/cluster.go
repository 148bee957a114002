package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/skewless/skewless/manifest"
)

// clusterConfig is cluster mode's part of the configuration: several
// instances that name the same Redis (and cluster) are one origin.
type clusterConfig struct {
	// Redis is the cluster's Redis URL. Default: none (not a cluster).
	Redis string
	// Name prefixes the cluster's keys. Default: "skewless".
	Name string
	// BarrierTimeout is how long a build this instance proposes waits for
	// every live instance to load it. Default: 60s.
	BarrierTimeout time.Duration
}

// clusterFlags registers --redis and --cluster (every command that works
// on a cluster), and with barrier, --barrier-timeout.
func clusterFlags(fs *flag.FlagSet, c *clusterConfig, barrier bool) {
	fs.StringVar(&c.Redis, "redis", "", "cluster mode: the Redis that several instances share, redis://HOST:PORT/DB (none: not a cluster)")
	fs.StringVar(&c.Name, "cluster", "skewless", "cluster mode: the cluster's name, prefixing its Redis keys (several apps on one Redis)")
	if barrier {
		fs.DurationVar(&c.BarrierTimeout, "barrier-timeout", time.Minute,
			"cluster mode: how long a new build waits for every live instance to load it; then it goes live if at least half have it")
	}
}

func (c clusterConfig) validate() error {
	if c.Redis == "" {
		return nil
	}
	var errs []error
	if !manifest.ValidClusterName(c.Name) {
		errs = append(errs, fmt.Errorf("--cluster %q: use letters, digits, '.', '_', '-' (at most 64)", c.Name))
	}
	if c.BarrierTimeout < 0 {
		errs = append(errs, errors.New("--barrier-timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// openCluster opens the cluster's store for an instance listening on addr
// (nil when not in cluster mode). Redis need not be up: the instance waits
// for it, answering health 503 until it has read the cluster's state.
func openCluster(cfg clusterConfig, addr net.Addr, log *zap.Logger) (*manifest.RedisStore, error) {
	if cfg.Redis == "" {
		return nil, nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	info := &manifest.InstanceInfo{ID: host + "-" + hex.EncodeToString(rnd[:]), Host: host, Addr: addr.String(),
		PID: os.Getpid(), Started: time.Now().UTC()}
	store, err := manifest.OpenRedisStore(manifest.RedisStoreConfig{URL: cfg.Redis, Cluster: cfg.Name, Instance: info,
		Log: log.Named("cluster")})
	if err != nil {
		return nil, err
	}
	state, _ := store.Keys()
	log.Info("cluster mode", zap.String("cluster", cfg.Name), zap.String("instance", info.ID), zap.String("state", state),
		zap.Duration("barrier_timeout", cfg.BarrierTimeout))
	return store, nil
}

// markFolder records whether the builds folder is a cluster's, so that
// commands given --builds for it point to --redis instead of changing a
// state no server reads.
func markFolder(cfg serveConfig) error {
	if cfg.Cluster.Redis == "" {
		return manifest.UnmarkCluster(cfg.Builds)
	}
	return manifest.MarkCluster(cfg.Builds, manifest.ClusterMark{Redis: manifest.RedactURL(cfg.Cluster.Redis), Cluster: cfg.Cluster.Name})
}

// notClusterFolder refuses a command given --builds for a folder a
// cluster's instance serves: its builds are decided in Redis.
func notClusterFolder(builds string) error {
	m, ok := manifest.ClusterOf(builds)
	if !ok {
		return nil
	}
	return fmt.Errorf("%s is a folder of cluster %q, whose builds are decided in Redis: give --redis %s%s instead of --builds",
		builds, m.Cluster, m.Redis, clusterFlagText(m.Cluster))
}

func clusterFlagText(name string) string {
	if name == "skewless" {
		return ""
	}
	return " --cluster " + name
}
