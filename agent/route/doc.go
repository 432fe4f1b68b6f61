// Package route decides where a scanned payment code goes and applies the
// decision: Intake takes every scan (a hardware scanner, the bridge,
// POST /v1/scans), holds the amount due the POS sets (the cart) and its
// tip prompt's answer, and the lane's tip rules.
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
// Intake.HandleScan applies it: the same code again within the dedupe
// window is the same scan (Dedupe); a code that is not a payment code is
// a scan.barcode event for the POS and never reaches the gateway; a
// payment code is given to the waiting payment, or starts a payment from
// the cart, or is journaled as scan.refused (with the engine's refusal:
// a code already used, an implausible clock, a cart that changed or is
// being paid) or scan.ignored. Codes are masked in every event and log.
//
// One cart becomes at most one payment: CartSlot.Take hands the amount due to
// one scan, and only if it is still the cart that scan read; until that
// scan ends with Done (paid) or Release (refused before anything was
// recorded), no change and no other Take is allowed (ErrBusy), and
// Intake's SetCart, ClearCart and ChooseTip answer cart_busy. Intake
// orders each change of the cart with its cart.updated event (one mutex).
//
// The cart's tip follows Tips, the lane's tip rules: a tip above
// MaxPercent of the amount needs a manager's approval; a tip prompt shows
// the suggestions (Choices) and takes one answer from the customer, which
// the cashier may change (Apply). Their refusals are agent/operr errors.
//
// Intake reaches the payments only through Engine, an interface of its
// own that package agent implements: the payments waiting for a code, a
// code given to one, a payment started from the cart, an event journaled,
// an audit entry for a payment no request asked for. It imports neither
// the journal nor the gateway; the engine (package agent) owns the
// payments, builds the Intake over itself and hands it out (Engine.Intake)
// to the local API and the daemon's scanners, bridge and reload. Intake.Run
// (the engine runs it) cancels payments that waited too long for a code
// and clears an expired cart.
//
// Dedupe, CartSlot and Intake guard their own state with their own mutex;
// times are monotonic readings (time.Duration since an arbitrary origin),
// never the wall clock, because a POS board may boot with a wrong one; the
// wall clock only stamps events and the cart's expires_at.
package route
