package main

import (
	"regexp"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func stringField(k, v string) zapcore.Field { return zap.String(k, v) }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
