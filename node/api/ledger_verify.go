package api

// VerifyResult compares this node's settlement of an epoch with the statements other nodes
// signed for it, and lists the entries behind a disagreement.
type VerifyResult struct {
	Epoch   uint64 `json:"epoch"`
	Root    string `json:"root"` // this node's root, hex
	Entries uint64 `json:"entries"`
	// Agree is true when every other node's statement of the epoch has this node's root
	// (vacuously true when none arrived: Statements is then empty).
	Agree      bool            `json:"agree"`
	Agreeing   int             `json:"agreeing"`
	Statements []StatementView `json:"statements"` // disagreeing first
	// Differences are the entries one side holds and the other does not, per disagreeing
	// node this node could reach (at most MaxVerifyDifferences in all).
	Differences []EntryDifference `json:"differences"`
	// Unreachable names disagreeing nodes whose entries could not be compared.
	Unreachable []string `json:"unreachable,omitempty"`
}

// StatementView is another node's latest statement of the epoch.
type StatementView struct {
	Author  string `json:"author"`
	Root    string `json:"root"`
	Entries uint64 `json:"entries"`
	Time    int64  `json:"time"`
	Agrees  bool   `json:"agrees"`
}

// EntryDifference is one entry held by one side only.
type EntryDifference struct {
	Peer   string `json:"peer"`   // the disagreeing node compared with
	Side   string `json:"side"`   // "missing_here" (the peer has it) or "missing_there"
	Author string `json:"author"` // the entry's author and place in its chain
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind,omitempty"`
	Time   int64  `json:"time,omitempty"`
	ID     string `json:"id,omitempty"` // hex
}

// MaxVerifyDifferences bounds VerifyResult.Differences.
const MaxVerifyDifferences = 200

type verifyRequest struct {
	Epoch *uint64 `json:"epoch,omitempty"`
}
