package manifest

import "time"

// opKind is one kind of change the planner makes to the history.
type opKind uint8

const (
	opDeploy    opKind = iota + 1 // a dropped build is current, unless an activation came first (then ready)
	opActivate                    // a build is current (the newest valid folder on a first start)
	opSupersede                   // a build is live without having been current (first start)
	opRetire                      // a live build retires (grace, --keep, folder removed, unloadable)
	opFallback                    // the current build retires; the newest live one takes over
	opPassOver                    // a build on its way was passed over by a later decision: ready
	opInvalid                     // a build never served is invalid
	opProblems                    // a served or ready build's folder turned invalid; its last good load serves
	opContent                     // a build was loaded again: its size and paths, nothing wrong
	opForget                      // the folder of a build never served is gone
)

var opNames = [...]string{opDeploy: "deploy", opActivate: "activate", opSupersede: "supersede", opRetire: "retire",
	opFallback: "fallback", opPassOver: "pass-over", opInvalid: "invalid", opProblems: "problems",
	opContent: "content", opForget: "forget"}

func (k opKind) String() string { return opNames[k] }

// stateOp is one change to the history, as data: the planner decides it on
// the history it knows, the loop applies it through StateStore.Update to
// the freshest one, where another process may have decided meanwhile.
type stateOp struct {
	kind     opKind
	version  string
	sum      Summary
	problems []string
	ifSeq    uint64    // opDeploy: activate only if no activation happened since
	at       time.Time // opSupersede: when it counts as superseded
	next     string    // opFallback: the build that takes over
	why      string    // for the log
}

// applyOps applies ops to h in order, at now.
func applyOps(h *History, ops []stateOp, now time.Time) {
	for _, op := range ops {
		applyOp(h, op, now)
	}
}

func applyOp(h *History, op stateOp, now time.Time) {
	v := op.version
	switch op.kind {
	case opDeploy:
		// The last explicit decision wins: an activation made since the
		// drop was decided (ifSeq) leaves the dropped build ready.
		if h.Seq == op.ifSeq && !h.decided(v) {
			h.Activate(v, op.sum, now)
			return
		}
		h.PassOver(v, now)
		h.SetContent(v, op.sum)
	case opActivate:
		h.Activate(v, op.sum, now)
	case opSupersede:
		if !h.decided(v) {
			h.Supersede(v, op.sum, op.at)
		}
	case opRetire:
		if h.StateOf(v) == Live {
			h.Retire(v, now)
			h.SetProblems(v, op.problems)
		}
	case opFallback:
		applyFallback(h, op, now)
	case opPassOver:
		h.PassOver(v, now)
	case opInvalid:
		h.MarkInvalid(v, op.problems)
	case opProblems:
		h.SetProblems(v, op.problems)
	case opContent:
		h.SetContent(v, op.sum)
	case opForget:
		h.Forget(v)
	}
}

// applyFallback retires a current build that cannot be served; the newest
// live build takes over when it is still live and nothing else was made
// current meanwhile.
func applyFallback(h *History, op stateOp, now time.Time) {
	if st := h.StateOf(op.version); st != Current && st != Live {
		return
	}
	h.Retire(op.version, now)
	h.SetProblems(op.version, op.problems)
	if h.Current == "" && op.next != "" && h.StateOf(op.next) == Live {
		r := h.Builds[op.next]
		h.Activate(op.next, Summary{Files: r.Files, Bytes: r.Bytes}, now)
	}
}
