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
	opPropose                     // cluster: a build waits for the barrier (replacing an older proposal)
	opBarrier                     // cluster: the barrier passed; the proposed build is current
)

var opNames = [...]string{opDeploy: "deploy", opActivate: "activate", opSupersede: "supersede", opRetire: "retire",
	opFallback: "fallback", opPassOver: "pass-over", opInvalid: "invalid", opProblems: "problems",
	opContent: "content", opForget: "forget", opPropose: "propose", opBarrier: "barrier"}

func (k opKind) String() string { return opNames[k] }

// stateOp is one change to the history, as data: the planner decides it on
// the history it knows, the loop applies it through StateStore.Update to
// the freshest one, where another process may have decided meanwhile.
type stateOp struct {
	kind     opKind
	version  string
	sum      Summary
	problems []string
	ifSeq    uint64    // opDeploy: activate only if no activation happened since (opPropose: no proposal)
	at       time.Time // opSupersede: when it counts as superseded
	next     string    // opFallback: the build that takes over
	why      string    // for the log

	// Cluster mode.
	digest   string        // opPropose, opBarrier: the build's content
	decision uint64        // opBarrier: the proposal it carries out
	timeout  time.Duration // opPropose: the barrier's deadline after now
	by       string        // opPropose: the proposing instance
	adopt    bool          // opPropose: a first start's folder, only if nothing else was proposed
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
	case opPropose:
		applyPropose(h, op, now)
	case opBarrier:
		applyBarrier(h, op, now)
	}
}

// applyPropose proposes a build, unless it is placed already, or another
// decision was made since the planner saw the state (the last decision
// wins: a drop is then ready, a first start's folder waits).
func applyPropose(h *History, op stateOp, now time.Time) {
	v := op.version
	switch {
	case h.decided(v) || h.proposed(v):
	case h.Decisions != op.ifSeq && op.adopt:
	case h.Decisions != op.ifSeq:
		h.PassOver(v, now)
	case op.adopt && (h.Current != "" || h.Proposed != nil):
	default:
		h.Propose(Proposal{Version: v, Digest: op.digest, Files: op.sum.Files, Bytes: op.sum.Bytes, Paths: op.sum.Paths,
			Deadline: now.Add(op.timeout), By: op.by}, now)
	}
}

// applyBarrier activates the proposal the barrier passed, if it is still
// the one waiting (another instance may have activated it first, or a
// later proposal replaced it).
func applyBarrier(h *History, op stateOp, now time.Time) {
	if p := h.Proposed; p == nil || p.Version != op.version || p.Decision != op.decision {
		return
	}
	h.Activate(op.version, op.sum, now)
	h.Builds[op.version].Digest = op.digest
	h.Proposed = nil
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
