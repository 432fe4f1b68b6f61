// Package route decides where a scanned payment code goes, and keeps the
// two pieces of counter state that decision reads: the recent scans (to
// suppress a scanner's repeat) and the amount due the POS set (the cart).
//
// The rule (Decide) is a pure function of how many payments are waiting
// for a code and whether the cart may start one:
//
//   - exactly one candidate: the code goes to it (the waiting payment the
//     customer display shows, or a new payment for the cart's amount);
//   - more than one: the scan is refused as ambiguous, and nothing is
//     charged, because charging the code to the wrong sale cannot be undone
//     by the cashier;
//   - none: the scan is ignored, and nothing is charged.
//
// The cart's tip follows Tips, the lane's tip rules: a tip above
// MaxPercent of the amount needs a manager's approval; a tip prompt shows
// the suggestions (Choices) and takes one answer from the customer, which
// the cashier may change (Apply). Their refusals are agent/operr errors.
//
// One cart becomes at most one payment: CartSlot.Take hands the amount due to
// one scan, and only if it is still the cart that scan read; until that
// scan ends with Done (paid) or Release (refused before anything was
// recorded), no change and no other Take is allowed (ErrBusy).
//
// Dedupe and CartSlot guard their own state with their own mutex; times are
// monotonic readings (time.Duration since an arbitrary origin), never the
// wall clock, because a POS board may boot with a wrong one. The engine
// (package agent) owns the payments and acts on the decision.
package route
