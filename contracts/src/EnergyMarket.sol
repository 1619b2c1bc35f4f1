// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AuctionVerifier} from "./AuctionVerifier.sol";

/// @title GridMesh peer-to-peer energy market: site registry, escrow, interval records.
/// @notice Matching happens off-chain (a uniform-price double auction every site can
/// recompute); the operator commits the clearing, the contract checks every match against
/// the sites' EIP-712 signed orders, locks each site's worst-case liability out of its free
/// escrow and keeps only a hash of the clearing. After delivery anyone settles the interval
/// with the sites' EIP-712 signed meter readings: min(traded, delivered) is paid at the
/// clearing price and shortfalls pay a penalty to the counterparty; the result is a
/// per-site release (lock + balance change) kept as a hash. Nothing moves until the
/// dispute window has passed: then `finalize` credits the releases to the free balances.
/// A site that proves, within the window, that another site's meter signed a contradicting
/// reading has the offender re-settled at its worst case (the others keep their settlement)
/// and, if the reporter has another owner, receives the offender's bond; the offender
/// trades again only with its bond restored. An interval nobody settled within the settle
/// window expires as committed (every trade settled as delivered).
///
/// Gas layout: commit reads one 32-byte registry word per site (96-bit tags of the owner
/// and meter key, caps, active) from a data contract's code (one account access for all
/// sites); balances are 42-bit lanes, six sites per storage
/// slot; interval records live in a ring of `ringSize` slots written nonzero at deploy,
/// so a commit, settlement or finalization rewrites a nonzero slot (hash prefix |
/// interval | settle offset | status); meter key tags are snapshotted into the clearing
/// hash at commit so settlement reads them from calldata. `marketStep` finalizes, settles and
/// commits in one transaction and logs one `Stepped` event.
contract EnergyMarket is EIP712 {
    using SafeERC20 for IERC20;

    // ---- constants ---------------------------------------------------------------------
    uint256 public constant MAX_SITES = 64;
    uint256 public constant MAX_MATCHES = 128;
    uint256 public constant MAX_RING = 1024;
    uint8 public constant SIDE_BID = 0;
    uint8 public constant SIDE_ASK = 1;
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(uint32 siteId,uint64 interval,uint8 side,uint32 energyWh,uint64 limitPrice,uint64 deadline)"
    );
    bytes32 public constant READING_TYPEHASH =
        keccak256("MeterReading(uint32 siteId,uint64 interval,uint32 importWh,uint32 exportWh)");

    /// Record status (low byte). FREE marks a ring slot that was never used.
    uint256 private constant STATUS_COMMITTED = 1;
    uint256 private constant STATUS_SETTLED = 2;
    uint256 private constant STATUS_VOID = 3;
    uint256 private constant STATUS_FINAL = 4;
    uint256 private constant STATUS_FREE = 5;
    uint256 private constant LANES = 6;
    uint256 private constant LANE_BITS = 42;
    uint256 private constant LANE_MASK = (1 << LANE_BITS) - 1;
    /// A deposit (open to anyone) may fill a free balance only to half the lane, so income has
    /// room; income beyond the lane goes to the site's side balance (_overflow), never a revert.
    uint256 private constant DEPOSIT_CAP = 1 << (LANE_BITS - 1);
    /// Amounts (balances, bond, prices) count `unit`s of token base units; price is units
    /// per kWh and energy is Wh: value = energyWh * price / 1000.
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant BPS = 10_000;
    uint256 private constant SELLER = 1 << 255;
    uint256 private constant TAG_MASK = (1 << 96) - 1;
    uint256 private constant CAP_MASK = (1 << 28) - 1;
    /// A settle reading whose meta is ABSENT stands for a reading the site withheld: it
    /// settles at the site's worst case (see settle).
    uint256 private constant ABSENT = 1 << 255;
    /// Net (export - import) of a withheld reading in the settlement walk: negative with an
    /// unbounded remainder, so a withholding buyer takes all it bought (and is marked to pay
    /// the penalty on all of it) and a withholding seller delivered nothing.
    int256 private constant NET_ABSENT = -(1 << 128);

    // ---- types -------------------------------------------------------------------------
    struct Site {
        address owner; // signs orders, withdraws
        uint32 importCapWh; // nameplate import per interval
        uint32 exportCapWh; // nameplate export per interval
        bool active;
    }

    struct SiteKey {
        address meterKey; // signs meter readings
        uint40 unlockAt; // after deactivation: when the bond may leave escrow
        uint40 leaveAt; // an owner's leave: when completeLeave may deactivate the site (0: none)
    }

    /// The signed Order's fields in one calldata word (fewer zero bytes than six):
    /// meta = siteId << 200 | interval << 168 | side << 160 | energyWh << 128 |
    /// limitPrice << 64 | deadline. The order's interval travels in 32 bits (a commit's
    /// interval is below 2^32); bits above 231 must be zero.
    struct SignedOrder {
        uint256 meta;
        bytes32 r;
        bytes32 vs; // EIP-2098 compact signature
    }

    /// meta = interval << 64 | importWh << 32 | exportWh (one calldata word)
    struct SignedReading {
        uint256 meta;
        bytes32 r;
        bytes32 vs;
    }

    // ---- errors ------------------------------------------------------------------------
    error NotOperator(address caller);
    error NotSiteOwner(uint32 siteId, address caller);
    error ZeroAddress();
    error ZeroAmount();
    error BadParameter(string name);
    error TooManySites(uint256 max);
    error UnknownSite(uint32 siteId);
    error SiteInactive(uint32 siteId);
    error TooManyOrders(uint256 count, uint256 max);
    error TooManyMatches(uint256 count, uint256 max);
    error OrdersNotSorted(uint256 position, uint32 siteId);
    error CommitTooLate(uint64 interval, uint256 startsAt);
    error CommitTooEarly(uint64 interval, uint256 opensAt);
    error IntervalAlreadyCommitted(uint64 interval);
    error RingSlotBusy(uint64 interval, uint64 occupant);
    error OrderWrongInterval(uint32 siteId, uint64 orderInterval, uint64 interval);
    error OrderExpired(uint32 siteId, uint64 deadline);
    error InvalidSide(uint32 siteId, uint8 side);
    error MalformedSignature(uint32 siteId);
    error OrderSignerMismatch(uint32 siteId, address recovered);
    error EnergyExceedsCap(uint32 siteId, uint32 energyWh, uint32 capWh);
    error PriceOutsideLimit(uint32 siteId, uint64 limitPrice, uint64 price);
    error MatchOutOfRange(uint256 matchIndex);
    error MatchWrongSide(uint256 matchIndex);
    error MatchExceedsOrder(uint32 siteId, uint256 matchedWh, uint32 orderWh);
    error UnmatchedOrder(uint32 siteId);
    error InsufficientEscrow(uint32 siteId, uint256 needed, uint256 available);
    error IntervalNotCommitted(uint64 interval);
    error AlreadySettled(uint64 interval);
    error SettlementTooEarly(uint64 interval, uint256 endsAt);
    error SettlementExpired(uint64 interval, uint256 closedAt);
    error SettleWindowOpen(uint64 interval, uint256 closesAt);
    error ClearingMismatch(uint64 interval);
    error ReadingCountMismatch(uint256 count, uint256 expected);
    error ReadingWrongInterval(uint32 siteId, uint64 readingInterval, uint64 interval);
    error ReadingSignerMismatch(uint32 siteId, address recovered);
    error NotSettled(uint64 interval);
    error DisputeWindowClosed(uint64 interval, uint256 closedAt);
    error DisputeWindowOpen(uint64 interval, uint256 finalAt);
    error SettlementMismatch(uint64 interval);
    error ReadingNotContradicting(uint32 siteId);
    error SelfDispute(uint32 siteId);
    error DisputeNotCommitted();
    error BalanceOverflow(uint32 siteId);
    error WithdrawExceedsAvailable(uint32 siteId, uint256 amount, uint256 available);
    error ReadingMissing(uint32 siteId, uint256 allowedAt);
    error ReadingWasPosted(uint32 siteId);
    error WithdrawalNotDue(uint32 siteId, uint256 dueAt);
    error LeaveNotDue(uint32 siteId, uint256 activeUntil);
    error BondNotPosted(uint32 siteId, uint256 posted);
    error RotationNotDue(uint32 siteId, uint256 dueAt);
    error OperatorBondNotPosted();
    error NotVerifier(address caller);

    // ---- events ------------------------------------------------------------------------
    event SiteRegistered(uint32 indexed siteId, address indexed owner, address meterKey, uint32 importCapWh, uint32 exportCapWh);
    event MeterKeyRotated(uint32 indexed siteId, address meterKey);
    event MeterKeyProposed(uint32 indexed siteId, address meterKey, address by);
    event InstallerSet(address indexed installer, bool appointed);
    event SiteActiveChanged(uint32 indexed siteId, bool active);
    /// The owner asked to hand the site to `newOwner`, which may take it (rotateOwner) from `dueAt`.
    event OwnerRotationRequested(uint32 indexed siteId, address newOwner, uint256 dueAt);
    event OwnerRotated(uint32 indexed siteId, address owner);
    event Deposited(uint32 indexed siteId, address indexed from, uint256 amount);
    event Withdrawn(uint32 indexed siteId, address indexed to, uint256 amount);
    /// clearingHash = keccak256(abi.encode(interval, price, sites, matches)); price and matches
    /// are in the transaction's calldata, the site refs (siteId << 160 | meter key tag) settle()
    /// takes are rebuilt from the meter keys at the commit's block and checked against this hash.
    event ClearingCommitted(uint64 indexed interval, bytes32 clearingHash);
    event IntervalSettled(uint64 indexed interval);
    event IntervalFinalized(uint64 indexed interval);
    /// marketStep()'s one log in place of ClearingCommitted, IntervalSettled and IntervalFinalized:
    /// `committedInterval` and `clearingHash` mean what ClearingCommitted's fields mean;
    /// settledAndFinalized = settledInterval | nFinals << 32 | finalized[i] << (40 + 32 * i)
    /// for i < 6 (intervals are below 2^32); finals beyond the sixth log IntervalFinalized.
    event Stepped(uint64 indexed committedInterval, bytes32 clearingHash, uint256 settledAndFinalized);
    event IntervalVoided(uint64 indexed interval);
    /// An owner asked to withdraw `amount`; withdraw() pays it from `dueAt` (what is free then).
    event WithdrawalRequested(uint32 indexed siteId, uint256 amount, uint256 dueAt);
    /// An owner asked to leave; the site stays active (its signed orders can be committed)
    /// until `activeUntil`, when anyone may completeLeave.
    event SiteLeaving(uint32 indexed siteId, uint256 activeUntil);
    /// A site put its own signed reading on record (postReading): settle may no longer
    /// treat it as withheld. The reading is here for whoever settles.
    event ReadingPosted(uint64 indexed interval, uint32 indexed siteId, uint256 meta, bytes32 r, bytes32 vs);
    event Disputed(uint64 indexed interval, uint32 indexed offenderSiteId, uint32 reporterSiteId, uint256 slashed);
    /// The operator registered the point-of-coupling (feeder) meter's key and the tolerance of
    /// the feeder check in basis points of the sites' gross flow.
    event FeederSet(address key, uint256 toleranceBps);
    /// The feeder check failed for `interval`: the point of coupling's import - export
    /// (`feederNetWh`) differs from the sum of the settled sites' import - export
    /// (`sitesNetWh`) by more than the tolerance (see postFeederReading).
    event FeederMismatch(uint64 indexed interval, int256 feederNetWh, int256 sitesNetWh);

    // ---- configuration -----------------------------------------------------------------
    IERC20 public immutable token;
    uint256 public immutable unit;
    address public immutable operator;
    uint256 public immutable genesis;
    uint256 public immutable intervalSec;
    uint256 public immutable settleWindowSec;
    uint256 public immutable disputeWindowSec;
    uint256 public immutable penaltyBps;
    uint256 public immutable bond;
    uint256 public immutable ringSize;
    /// holds the operator's bond and proves a clearing that is not the auction's (issue 14, attack 8)
    AuctionVerifier public immutable verifier;

    // ---- state -------------------------------------------------------------------------
    uint32 public siteCount;
    /// The hot registry: what commit reads of a site, one word per site: ownerTag[95:0] |
    /// meterTag[191:96] | importCapWh[219:192] | exportCapWh[247:220] | active[248], a tag
    /// being the low 96 bits of keccak256(address): a key whose address has another site's
    /// tag takes ~2^96 tries to find. The words are the runtime code of a data contract
    /// this market created (a STOP byte, then word `id` at byte 1 + 32 * id), so a commit
    /// pays one cold account access and reads each site with EXTCODECOPY instead of a cold
    /// slot per site; an id beyond the code reads as zero, i.e. inactive. Every registry
    /// change creates a new blob (registry writes are rare). Shares siteCount's slot.
    /// _sites and _keys keep the full record for the rest.
    address private _registry;
    /// the verifier holds the operator's whole bond (no commit otherwise); shares _registry's slot
    bool private _operatorBonded;
    mapping(uint256 => Site) private _sites;
    mapping(uint256 => SiteKey) private _keys;
    /// [siteId] = the reserved bond, apart from the free balance: no lock and no withdrawal
    /// of an active site reaches it; a dispute slashes it. A site trades only with all of it.
    mapping(uint256 => uint256) private _bonds;
    /// [siteId] = income a finalization could not fit in the 42-bit free balance; withdrawable
    /// like it, never locked. Written only in that rare case, so finalize never reverts on it.
    mapping(uint256 => uint256) private _overflow;
    /// [siteId] = a proposed meter key | who proposed it << 160 (1 owner, 2 operator)
    mapping(uint256 => uint256) private _rotations;
    /// installers the operator appointed: they commission sites (registerSite) and co-sign
    /// meter key rotations like the operator
    mapping(address => bool) public isInstaller;
    /// [siteId] = the requested new owner | dueAt << 160 (rotateOwner)
    mapping(uint256 => uint256) private _ownerRotations;
    /// the feeder meter's key | toleranceBps << 160 (setFeeder)
    uint256 private _feeder;
    /// [commitment] = the block it was first committed in (commitDispute)
    mapping(bytes32 => uint256) private _disputeCommits;
    /// [siteId] = requested amount << 64 | dueAt (requestWithdrawal)
    mapping(uint256 => uint256) private _withdrawals;
    uint256[(MAX_SITES + LANES - 1) / LANES] private _lanes;
    /// [interval % ringSize] (ringSize <= MAX_RING; no slot hashing) = hash[255:64] | interval[63:32] | settledAt - endsAt[31:8] | status[7:0]
    uint256[MAX_RING] private _ring;
    /// [interval % ringSize] = interval << 64 | bit k set when the clearing's k-th site posted
    /// its reading (postReading); zero until a site posts, read only by a settle that
    /// declares a reading absent.
    uint256[MAX_RING] private _posted;
    /// [interval % ringSize] = the binding of the signed orders a step committed without
    /// checking their signatures (optimistic): acc = keccak256(acc, meta, r, vs, owner tag)
    /// over the orders, from 0 (AuctionVerifier.proveOrderForgery recomputes it). Not written
    /// at deploy (a ring of 512 would not fit a block): a slot's first step pays 22 100, later
    /// ones 2 900. A checked commit (commitClearing) leaves it (a proof also checks each
    /// order's interval, so a stale word proves nothing).
    uint256[MAX_RING] private _orderSigs;
    /// [interval % ringSize] = keccak256 of the readings (meta, r, vs words) a step settled
    /// without checking their signatures (AuctionVerifier.proveReadingForgery).
    uint256[MAX_RING] private _readingSigs;

    struct Config {
        IERC20 token;
        uint256 unit;
        address operator;
        uint256 genesis;
        uint256 intervalSec;
        uint256 settleWindowSec;
        uint256 disputeWindowSec;
        uint256 penaltyBps;
        uint256 bond;
        uint256 ringSize;
        /// units the operator keeps posted in the verifier to commit (0: none needed)
        uint256 operatorBond;
    }

    constructor(Config memory c) EIP712("GridMesh Market", "1") {
        if (address(c.token) == address(0) || c.operator == address(0)) revert ZeroAddress();
        if (c.intervalSec == 0) revert BadParameter("intervalSec");
        if (c.unit == 0) revert BadParameter("unit");
        if (c.penaltyBps > BPS) revert BadParameter("penaltyBps");
        if (c.bond > LANE_MASK) revert BadParameter("bond");
        if (c.settleWindowSec >= 1 << 24) revert BadParameter("settleWindowSec");
        // without a dispute window a double-signed reading can never be proven; only a local
        // development chain (anvil's 31337: tests, demos) may run without one
        if (c.disputeWindowSec == 0 && block.chainid != 31337) revert BadParameter("disputeWindowSec");
        // every interval that can still change (committed up to 2 ahead, settled within the
        // settle window, disputed within the dispute window) must have its own ring slot
        if (c.ringSize < minRingSize(c.intervalSec, c.settleWindowSec, c.disputeWindowSec) || c.ringSize > MAX_RING) {
            revert BadParameter("ringSize");
        }
        token = c.token;
        unit = c.unit;
        operator = c.operator;
        genesis = c.genesis;
        intervalSec = c.intervalSec;
        settleWindowSec = c.settleWindowSec;
        disputeWindowSec = c.disputeWindowSec;
        penaltyBps = c.penaltyBps;
        bond = c.bond;
        ringSize = c.ringSize;
        for (uint256 i; i < c.ringSize; ++i) {
            _ring[i] = STATUS_FREE;
        }
        verifier = new AuctionVerifier(
            AuctionVerifier.Params(
                c.token, c.operator, c.unit, c.operatorBond, c.bond, c.genesis, c.intervalSec, c.settleWindowSec, c.disputeWindowSec
            )
        );
        _operatorBonded = c.operatorBond == 0;
    }

    /// @notice The smallest ring for these windows (core/chain/deployMarket.ts's minRingSize is the same rule): 3 intervals (two ahead and the running
    /// one) plus the settle and dispute windows rounded up to whole intervals.
    function minRingSize(uint256 intervalSec_, uint256 settleWindowSec_, uint256 disputeWindowSec_)
        public
        pure
        returns (uint256)
    {
        return 3 + (settleWindowSec_ + disputeWindowSec_ + intervalSec_ - 1) / intervalSec_;
    }

    // ---- registry ----------------------------------------------------------------------
    /// @notice The operator appoints (or dismisses) an installer.
    function setInstaller(address installer, bool appointed) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        isInstaller[installer] = appointed;
        emit InstallerSet(installer, appointed);
    }

    /// @notice Commissioning: the operator or an installer it appointed registers a site with
    /// its owner's key and the meter key it installed (the owner never names its own meter).
    function registerSite(address owner, address meterKey, uint32 importCapWh, uint32 exportCapWh)
        external
        returns (uint32 siteId)
    {
        if (msg.sender != operator && !isInstaller[msg.sender]) revert NotOperator(msg.sender);
        if (owner == address(0) || meterKey == address(0)) revert ZeroAddress();
        siteId = siteCount;
        if (siteId >= MAX_SITES) revert TooManySites(MAX_SITES);
        if (importCapWh > CAP_MASK || exportCapWh > CAP_MASK) revert BadParameter("capWh");
        siteCount = siteId + 1;
        _sites[siteId] = Site(owner, importCapWh, exportCapWh, true);
        _keys[siteId] = SiteKey(meterKey, 0, 0);
        _writeHot(siteId, siteId);
        emit SiteRegistered(siteId, owner, meterKey, importCapWh, exportCapWh);
    }

    /// @notice A meter key rotation needs the owner and the operator or an installer (who
    /// commission meters) to ask for the same key, in either order: the first call proposes it
    /// (MeterKeyProposed), the other's completes it, so an owner cannot make itself its own
    /// meter (an installer that owns the site counts only as its owner). Clearings committed
    /// before keep the old key.
    function rotateMeterKey(uint32 siteId, address meterKey) external {
        Site storage s = _site(siteId);
        if (meterKey == address(0)) revert ZeroAddress();
        uint256 me = (msg.sender == s.owner ? 1 : 0)
            | (msg.sender == operator || (isInstaller[msg.sender] && msg.sender != s.owner) ? 2 : 0);
        if (me == 0) revert NotSiteOwner(siteId, msg.sender);
        uint256 proposed = _rotations[siteId];
        if (address(uint160(proposed)) == meterKey) me |= proposed >> 160;
        if (me != 3) {
            _rotations[siteId] = uint256(uint160(meterKey)) | (me << 160);
            emit MeterKeyProposed(siteId, meterKey, msg.sender);
            return;
        }
        delete _rotations[siteId];
        _keys[siteId].meterKey = meterKey;
        _writeHot(siteId, siteCount);
        emit MeterKeyRotated(siteId, meterKey);
    }

    /// @notice Owner key rotation, two calls: the owner names the new key (OwnerRotationRequested;
    /// a later request replaces it), then from `dueAt` = request + the commit delay the new key
    /// takes the site by calling this with its own address. Until then orders signed by the old
    /// key can still be committed (so a rotation cannot make the operator's commit revert);
    /// from then on the old key's orders are refused (OrderSignerMismatch) and it can no longer
    /// withdraw. A pending meter key proposal is dropped.
    function rotateOwner(uint32 siteId, address newOwner) external {
        Site storage s = _site(siteId);
        if (newOwner == address(0)) revert ZeroAddress();
        if (msg.sender == s.owner) {
            uint256 dueAt = block.timestamp + _commitDelay();
            _ownerRotations[siteId] = uint256(uint160(newOwner)) | (dueAt << 160);
            emit OwnerRotationRequested(siteId, newOwner, dueAt);
            return;
        }
        uint256 pending = _ownerRotations[siteId];
        if (msg.sender != newOwner || address(uint160(pending)) != newOwner) revert NotSiteOwner(siteId, msg.sender);
        if (block.timestamp < pending >> 160) revert RotationNotDue(siteId, pending >> 160);
        delete _ownerRotations[siteId];
        delete _rotations[siteId];
        s.owner = newOwner;
        _writeHot(siteId, siteCount);
        emit OwnerRotated(siteId, newOwner);
    }

    /// @notice The owner may leave: the site stays active for the commit delay (orders it
    /// signed before can still be committed, so a leave cannot make the operator's commit
    /// revert), then anyone completes the leave (completeLeave) and the bond unlocks once every
    /// interval it could be in is final. The operator deactivates at once (its own commits
    /// are the ones that would revert) and alone re-admits a site.
    function setActive(uint32 siteId, bool active) external {
        Site storage s = _site(siteId);
        if (active) {
            if (msg.sender != operator) revert NotOperator(msg.sender);
            _keys[siteId].leaveAt = 0;
        } else if (msg.sender == s.owner && msg.sender != operator) {
            uint256 activeUntil = block.timestamp + _commitDelay();
            _keys[siteId].leaveAt = uint40(activeUntil);
            emit SiteLeaving(siteId, activeUntil);
            return;
        } else if (msg.sender != operator) {
            revert NotSiteOwner(siteId, msg.sender);
        }
        _setActive(siteId, active);
    }

    /// @notice Completes an owner's leave once its delay has passed; anyone may call it.
    function completeLeave(uint32 siteId) external {
        _site(siteId);
        uint256 leaveAt = _keys[siteId].leaveAt;
        if (leaveAt == 0 || block.timestamp < leaveAt) revert LeaveNotDue(siteId, leaveAt);
        _keys[siteId].leaveAt = 0;
        _setActive(siteId, false);
    }

    function _setActive(uint32 siteId, bool active) private {
        Site storage s = _sites[siteId];
        s.active = active;
        if (!active) _keys[siteId].unlockAt = uint40(block.timestamp + _exitDelay());
        _writeHot(siteId, siteCount);
        emit SiteActiveChanged(siteId, active);
    }

    function site(uint32 siteId) external view returns (Site memory, address meterKey) {
        return (_site(siteId), _keys[siteId].meterKey);
    }

    // ---- escrow ------------------------------------------------------------------------
    function deposit(uint32 siteId, uint256 amount) external {
        _site(siteId);
        if (amount == 0) revert ZeroAmount();
        // the bond is filled first, into its own reserve; a site trades once it is whole.
        // The rest must fit the free balance's 2^41 cap, checked before any token moves (an
        // amount near 2^256 would otherwise fail inside the token, or overflow amount * unit).
        uint256 posted = _bonds[siteId];
        uint256 toBond = posted < bond ? (bond - posted < amount ? bond - posted : amount) : 0;
        uint256 free = balanceOf(siteId);
        if (free > DEPOSIT_CAP || amount - toBond > DEPOSIT_CAP - free) revert BalanceOverflow(siteId);
        token.safeTransferFrom(msg.sender, address(this), amount * unit);
        emit Deposited(siteId, msg.sender, amount);
        if (toBond != 0) {
            _bonds[siteId] = posted + toBond;
            if (posted + toBond == bond) _writeHot(siteId, siteCount);
        }
        _setBalance(siteId, free + amount - toBond);
    }

    /// @notice The first half of a withdrawal: it can be paid (withdraw) only after the commit
    /// delay, so escrow behind an order the site has signed cannot vanish before the
    /// operator commits it. Replaces an earlier request.
    function requestWithdrawal(uint32 siteId, uint256 amount) external {
        _onlyOwner(siteId);
        if (amount == 0) revert ZeroAmount();
        if (amount > LANE_MASK) revert BadParameter("amount");
        uint256 dueAt = block.timestamp + _commitDelay();
        _withdrawals[siteId] = (amount << 64) | dueAt;
        emit WithdrawalRequested(siteId, amount, dueAt);
    }

    /// @notice Pull withdrawal to the site owner, at most what it requested at least the
    /// commit delay ago, from the free balance; an active site keeps its bond. Amounts locked
    /// by committed intervals and releases of intervals that are not final yet are not part
    /// of the free balance.
    function withdraw(uint32 siteId, uint256 amount) external {
        Site storage s = _onlyOwner(siteId);
        if (amount == 0) revert ZeroAmount();
        uint256 request = _withdrawals[siteId];
        uint256 dueAt = uint64(request);
        if (request == 0 || block.timestamp < dueAt) revert WithdrawalNotDue(siteId, dueAt);
        uint256 available = withdrawable(siteId);
        if (request >> 64 < available) available = request >> 64;
        if (amount > available) revert WithdrawExceedsAvailable(siteId, amount, available);
        uint256 rest = (request >> 64) - amount;
        _withdrawals[siteId] = rest == 0 ? 0 : (rest << 64) | dueAt;
        uint256 bal = balanceOf(siteId);
        uint256 take = amount;
        if (take > bal) {
            // then the side balance, and the bond only of a site that left and whose bond unlocked
            uint256 ov = _overflow[siteId];
            uint256 fromOv = take - bal < ov ? take - bal : ov;
            _overflow[siteId] = ov - fromOv;
            take -= fromOv;
            if (take > bal) {
                _bonds[siteId] -= take - bal;
                take = bal;
            }
        }
        _setBalance(siteId, bal - take);
        emit Withdrawn(siteId, s.owner, amount);
        token.safeTransfer(s.owner, amount * unit);
    }

    /// @notice The free balance; with the bond once the site has left and every interval it
    /// could be in is final.
    function withdrawable(uint32 siteId) public view returns (uint256) {
        uint256 bal = balanceOf(siteId) + _overflow[siteId];
        bool locked = _sites[siteId].active || block.timestamp < _keys[siteId].unlockAt;
        return locked ? bal : bal + _bonds[siteId];
    }

    /// @notice The reserved bond (see deposit): apart from balanceOf.
    function bondOf(uint32 siteId) external view returns (uint256) {
        return _bonds[siteId];
    }

    /// @notice The free balance: deposits and finalized releases minus withdrawals and the
    /// locks of intervals that are committed and not yet finalized or voided.
    function balanceOf(uint32 siteId) public view returns (uint256) {
        return (_lanes[siteId / LANES] >> ((siteId % LANES) * LANE_BITS)) & LANE_MASK;
    }

    // ---- time --------------------------------------------------------------------------
    function intervalStart(uint64 interval) public view returns (uint256) {
        return genesis + uint256(interval) * intervalSec;
    }

    /// @return status 0 unknown (never committed, or its ring slot was reused), 1 committed,
    /// 2 settled, 3 void (no longer produced: disputes re-settle, expiry settles as
    /// committed), 4 final (releases credited, or expired);
    /// settledAt (0 unless settled); isFinal (no dispute possible any more)
    function intervalRecord(uint64 interval) external view returns (uint8 status, uint256 settledAt, bool isFinal) {
        uint256 rec = _ring[interval % ringSize];
        if (uint8(rec) == STATUS_FREE || uint32(rec >> 32) != interval) return (0, 0, false);
        status = uint8(rec);
        if (status == STATUS_SETTLED || status == STATUS_FINAL) settledAt = _settledAt(interval, rec);
        isFinal = status == STATUS_FINAL || (status == STATUS_SETTLED && block.timestamp >= settledAt + disputeWindowSec);
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---- entry points ------------------------------------------------------------------
    /// @notice Commits the clearing of `interval` at uniform `price`. `orders` are the
    /// signed orders the operator includes, matched or not, sorted by site id (an unmatched
    /// one locks nothing and its limit is not held to the price; the clearing hash binds
    /// every one's side, energy and limit, so AuctionVerifier can prove a clearing that is not
    /// their auction); a match word is sellerPos << 40 | buyerPos << 32 | energyWh with
    /// positions into `orders`. Refused while the operator's bond is not whole.
    function commitClearing(uint64 interval, uint64 price, SignedOrder[] calldata orders, uint256[] calldata matches)
        external
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        emit ClearingCommitted(interval, _commit(interval, price, orders, matches, _checked()));
    }

    /// @notice Settles a committed interval after it ended. `sites` and `matches` are the
    /// committed clearing (see ClearingCommitted); readings[k] is site k's signed reading.
    function settle(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        SignedReading[] calldata readings
    ) external {
        _settle(interval, price, sites, matches, readings);
        emit IntervalSettled(interval);
    }

    /// @notice After the dispute window, credits a settled interval's releases to the free
    /// balances; anyone may call it. `releases` as settle computed them (lock + change).
    function finalize(uint64 interval, bytes32 inputsHash, uint256[] calldata releases) external {
        _finalize(interval, inputsHash, releases);
        emit IntervalFinalized(interval);
    }

    /// @notice The steady state of a live market in one transaction (operator only), "step":
    /// finalizes the given intervals (typically the one whose ring slot the commit reuses),
    /// settles the interval that just ended and commits the one after the running one.
    /// Its argument is the packed `data` that follows the 4-byte selector (no ABI offset or
    /// length: calldata = selector | data; the ABI declares no parameters), in 32-byte words:
    ///   head = nFinals << 248 | nSites << 240 | nOrders << 224 | nCommitMatches << 216 |
    ///          settleInterval << 184 | commitInterval << 88 | commitPrice << 24 (intervals
    ///          32 bits, prices 64; bits 232-239 and 120-183 zero)
    ///   per final: interval << 8 | nReleases, inputsHash, releases[nReleases]
    ///   settle (when nSites > 0): clearingHash, releases[nSites], readings[nSites] (meta, r, vs)
    ///   commit: orders[nOrders] (meta, r, vs), matches[nCommitMatches]
    /// The settle part is optimistic (_settleStep): the step binds the releases the operator
    /// computed from the readings; a wrong one is proven by AuctionVerifier.proveSettlement.
    /// Each part means what the same argument of finalize, settle and commitClearing means.
    /// Logs one `Stepped`. (Its name makes its selector 0x00b1a64f: the dispatcher, which
    /// compares selectors in ascending order, reaches it first.)
    function marketStep() external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        uint256 head;
        uint256 p;
        bool fits;
        assembly ("memory-safe") {
            head := calldataload(4)
            p := 0x24
            // the whole layout must fit the calldata exactly, before anything is read from it
            let end := calldatasize()
            let q := p
            // unused bits are zero: the head's low 24, a final word's above interval | count
            fits := and(iszero(lt(end, 0x24)), iszero(and(head, or(or(shl(232, 0xff), shl(120, 0xffffffffffffffff)), 0xffffff))))
            for { let i := shr(248, head) } and(fits, gt(i, 0)) { i := sub(i, 1) } {
                fits := and(iszero(gt(add(q, 0x40), end)), iszero(shr(40, calldataload(q))))
                q := add(q, add(0x40, shl(5, and(calldataload(q), 0xff))))
            }
            let ns := and(shr(240, head), 0xff)
            let words := add(
                add(shl(2, ns), iszero(iszero(ns))),
                add(mul(3, and(shr(224, head), 0xff)), and(shr(216, head), 0xff))
            )
            fits := and(fits, eq(add(q, shl(5, words)), end))
        }
        if (!fits) revert BadParameter("step");
        uint256 nFinals = head >> 248;
        uint256 logged = uint32(head >> 184) | (nFinals << 32);
        for (uint256 i; i < nFinals; ++i) {
            uint256 fh;
            bytes32 ih;
            uint256[] calldata releases;
            assembly ("memory-safe") {
                fh := calldataload(p)
                ih := calldataload(add(p, 0x20))
                releases.offset := add(p, 0x40)
                releases.length := and(fh, 0xff)
                p := add(releases.offset, shl(5, releases.length))
            }
            uint64 finalized = uint64(fh >> 8);
            // finalize is permissionless: if someone did it first, the step skips it
            if (!_done(finalized, STATUS_FINAL)) _finalize(finalized, ih, releases);
            if (i < 6) logged |= uint256(uint32(finalized)) << (40 + 32 * i);
            else emit IntervalFinalized(finalized);
        }
        {
            uint256 h;
            uint256[] calldata releases;
            SignedReading[] calldata readings;
            assembly ("memory-safe") {
                let ns := and(shr(240, head), 0xff)
                h := calldataload(p)
                releases.offset := add(p, mul(0x20, iszero(iszero(ns))))
                releases.length := ns
                readings.offset := add(releases.offset, shl(5, ns))
                readings.length := ns
                p := add(readings.offset, mul(0x60, ns))
            }
            // a step without settled sites settles nothing (the interval that just ended waits
            // for a withheld reading's grace, or was settled by someone else)
            // settle is permissionless: if someone settled it first, the step skips it
            if (releases.length != 0 && !_done(uint32(head >> 184), STATUS_SETTLED)) {
                _settleStep(uint32(head >> 184), h, releases, readings);
            }
        }
        {
            SignedOrder[] calldata orders;
            uint256[] calldata matches;
            assembly ("memory-safe") {
                orders.offset := p
                orders.length := and(shr(224, head), 0xff)
                matches.offset := add(p, mul(0x60, orders.length))
                matches.length := and(shr(216, head), 0xff)
            }
            emit Stepped(uint32(head >> 88), _commit(uint32(head >> 88), uint64(head >> 24), orders, matches, _checked()), logged);
        }
    }

    /// @notice A committed interval nobody settled within the settle window stands as
    /// committed: every trade is settled as delivered at the clearing price (no penalty),
    /// and the releases are credited at once (no reading to dispute); the record is final
    /// and its ring slot free again. So a buyer that withheld its reading cannot wait out
    /// the window: it pays the full value of what it bought, and the seller is paid. (Within
    /// the window's second half either side could settle with the other absent, which is
    /// the withholder's worst case; a site wronged by the clearing must settle.) Anyone may
    /// call it.
    function expire(uint64 interval, uint64 price, uint256[] calldata sites, uint256[] calldata matches) external {
        uint256 slot = interval % ringSize;
        uint256 rec = _ring[slot];
        if (uint8(rec) == STATUS_FREE || uint32(rec >> 32) != interval) revert IntervalNotCommitted(interval);
        if (uint8(rec) != STATUS_COMMITTED) revert AlreadySettled(interval);
        uint256 closesAt = intervalStart(interval) + intervalSec + settleWindowSec;
        if (block.timestamp < closesAt) revert SettleWindowOpen(interval, closesAt);
        bytes32 h = _clearingHashCalldata(interval, price, sites, matches);
        if ((uint256(h) ^ rec) >> 64 != 0) revert ClearingMismatch(interval);
        uint256 n = sites.length;
        uint256 mem;
        // the settlement memory (see _fillFromMetas) of readings that delivered every trade:
        // a seller's net export and a buyer's net import beyond any match, never absent
        assembly ("memory-safe") {
            mem := mload(0x40)
            calldatacopy(mem, calldatasize(), mul(0xa0, n))
            for { let m := 0 } lt(m, matches.length) { m := add(m, 1) } {
                let w := calldataload(add(matches.offset, shl(5, m)))
                mstore(add(mem, shl(5, and(shr(40, w), 0xff))), shl(128, 1))
                mstore(add(mem, shl(5, and(shr(32, w), 0xff))), sub(1, shl(128, 1)))
            }
            for { let k := 0 } lt(k, n) { k := add(k, 1) } { mstore(add(mem, shl(5, add(n, k))), shl(128, 1)) }
            let hp := add(mem, mul(0xa0, n))
            mstore(hp, h)
            mstore(0x40, add(hp, 0x40))
        }
        _releases(price, sites, matches, mem, n);
        uint256[] memory words = new uint256[](n);
        assembly ("memory-safe") {
            mcopy(add(words, 0x20), add(mem, mul(0x60, n)), shl(5, n))
        }
        _creditLanes(words);
        // final, as if settled when the window closed
        _ring[slot] = (rec & ~uint256(0xffffffff)) | (settleWindowSec << 8) | STATUS_FINAL;
        emit IntervalFinalized(interval);
    }

    // ---- commit ------------------------------------------------------------------------
    /// `checked`: every order's signature is checked here (commitClearing); a step passes false
    /// and binds the signatures in _orderSigs instead (optimistic: a forged one is proven by
    /// AuctionVerifier.proveOrderForgery and paid from the operator's bond).
    function _commit(
        uint64 interval,
        uint64 price,
        SignedOrder[] calldata orders,
        uint256[] calldata matches,
        bool checked
    ) private returns (bytes32 h) {
        if (!_operatorBonded) revert OperatorBondNotPosted();
        uint256 n = orders.length;
        if (n > MAX_SITES) revert TooManyOrders(n, MAX_SITES);
        if (matches.length > MAX_MATCHES) revert TooManyMatches(matches.length, MAX_MATCHES);
        if (interval > type(uint32).max) revert BadParameter("interval");
        {
            uint256 startsAt = intervalStart(interval);
            if (block.timestamp >= startsAt) revert CommitTooLate(interval, startsAt);
            // Bounded look-ahead keeps the exit delay of a leaving site finite.
            uint256 opensAt = startsAt > 2 * intervalSec ? startsAt - 2 * intervalSec : 0;
            if (block.timestamp < opensAt) revert CommitTooEarly(interval, opensAt);
        }
        uint256 slot = interval % ringSize;
        {
            uint256 rec = _ring[slot];
            uint256 st = uint8(rec);
            if (st != STATUS_FREE) {
                uint64 occupant = uint32(rec >> 32);
                if (occupant == interval) revert IntervalAlreadyCommitted(interval);
                // a settled interval's releases and a committed one's locks live only in
                // its record: finalize (or expire) it before the slot is reused
                if (st == STATUS_COMMITTED || st == STATUS_SETTLED) revert RingSlotBusy(interval, occupant);
            }
        }

        uint256[] memory matched = new uint256[](n);
        if (!_sumMatches(orders, matches, matched)) _explainMatches(orders, matches);
        uint256[] memory refs = new uint256[](n);
        (uint256 bad, uint256 sigs) = _checkOrders(orders, interval, price, matched, refs, checked);
        if (bad < n) _explainOrder(orders, bad, interval, price, matched[bad], checked);
        if (!checked) _orderSigs[slot] = sigs;
        _debitLanes(matched);

        h = _clearingHash(interval, price, refs, matches);
        // bits 8-15: the site count, which a step's settle (no refs sent) must match
        _ring[slot] = ((uint256(h) >> 64) << 64) | (uint256(interval) << 32) | (n << 8) | STATUS_COMMITTED;
    }

    /// Adds each match's energy to both sides' totals in `matched`; false when a match is
    /// out of range or joins the wrong sides (then _explainMatches names it).
    function _sumMatches(SignedOrder[] calldata orders, uint256[] calldata matches, uint256[] memory matched)
        private
        pure
        returns (bool ok)
    {
        uint256 n = orders.length;
        assembly ("memory-safe") {
            ok := 1
            let base := add(matched, 0x20)
            for { let m := 0 } lt(m, matches.length) { m := add(m, 1) } {
                let w := calldataload(add(matches.offset, shl(5, m)))
                let sp := and(shr(40, w), 0xff)
                let bp := and(shr(32, w), 0xff)
                // SignedOrder is 3 static words; side is meta[167:160]
                if or(or(iszero(lt(sp, n)), iszero(lt(bp, n))), shr(48, w)) {
                    ok := 0
                    break
                }
                if or(
                    iszero(eq(and(shr(160, calldataload(add(orders.offset, mul(0x60, sp)))), 0xff), 1)),
                    iszero(iszero(and(shr(160, calldataload(add(orders.offset, mul(0x60, bp)))), 0xff)))
                ) {
                    ok := 0
                    break
                }
                let e := and(w, 0xffffffff)
                mstore(add(base, shl(5, sp)), add(mload(add(base, shl(5, sp))), e))
                mstore(add(base, shl(5, bp)), add(mload(add(base, shl(5, bp))), e))
            }
        }
    }

    /// The failure path of _sumMatches in plain Solidity: reverts with the named error.
    function _explainMatches(SignedOrder[] calldata orders, uint256[] calldata matches) private pure {
        uint256 n = orders.length;
        for (uint256 m; m < matches.length; ++m) {
            uint256 w = matches[m];
            uint256 sellerPos = (w >> 40) & 0xff;
            uint256 buyerPos = (w >> 32) & 0xff;
            if (sellerPos >= n || buyerPos >= n || w >> 48 != 0) revert MatchOutOfRange(m);
            if (uint8(orders[sellerPos].meta >> 160) != SIDE_ASK || uint8(orders[buyerPos].meta >> 160) != SIDE_BID) {
                revert MatchWrongSide(m);
            }
        }
        revert BadParameter("matches");
    }

    /// Every order checked in one assembly loop (the same rules as _checkOrder): fields in
    /// range, sorted ids, registered and active site, right interval, deadline, low-s
    /// EIP-712 signature by the owner, caps, limit vs price, 0 < matched <= ordered.
    /// Turns matched[i] into the lock word siteId << 64 | liability and fills refs[i] with
    /// siteId << 160 | meter key tag. Returns the first failing position, or n when all pass.
    /// (Few live variables: a pointer walks the orders and the fields are read once into the
    /// struct-hash buffer, so the compiler keeps them instead of recomputing them.)
    function _checkOrders(
        SignedOrder[] calldata orders,
        uint64 interval,
        uint64 price,
        uint256[] memory matched,
        uint256[] memory refs,
        bool checked
    ) private view returns (uint256 bad, uint256 sigs) {
        bytes32 ds = _domainSeparatorV4();
        bytes32 typeHash = ORDER_TYPEHASH;
        uint256 pb = penaltyBps;
        address registry = _registry;
        assembly ("memory-safe") {
            let sBuf := mload(0x40) // typeHash | siteId | interval | side | energyWh | limitPrice | deadline
            // sBuf + 0xe0: 0x1901 | domainSeparator | structHash; sBuf + 0x140: digest | v | r | s
            mstore(sBuf, typeHash)
            mstore(add(sBuf, 0x40), interval)
            mstore(add(sBuf, 0xe0), 0x1901)
            mstore(add(sBuf, 0x100), ds)
            let o := orders.offset
            let end := add(o, mul(0x60, orders.length))
            let mp := matched
            let toRefs := sub(refs, matched)
            let next := 0 // the smallest id the next order may have (ids strictly ascending)
            for {} lt(o, end) { o := add(o, 0x60) } {
                mp := add(mp, 0x20)
                let w := calldataload(o)
                let id := shr(200, w)
                mstore(add(sBuf, 0x20), id)
                mstore(add(sBuf, 0x60), and(shr(160, w), 0xff))
                mstore(add(sBuf, 0x80), and(shr(128, w), 0xffffffff))
                mstore(add(sBuf, 0xa0), and(shr(64, w), 0xffffffffffffffff))
                mstore(add(sBuf, 0xc0), and(w, 0xffffffffffffffff))
                // bits above 231 zero, side 0 or 1, deadline not passed, this interval, sorted
                if or(
                    or(shr(232, w), gt(mload(add(sBuf, 0x60)), 1)),
                    or(lt(mload(add(sBuf, 0xc0)), timestamp()), or(iszero(eq(and(shr(168, w), 0xffffffff), interval)), lt(id, next)))
                ) { break }
                next := add(id, 1)
                // ownerTag | meterTag | importCapWh | exportCapWh | active; past the end of
                // the blob (an unregistered id) EXTCODECOPY pads zeros, so inactive
                extcodecopy(registry, 0x00, add(1, shl(5, id)), 0x20)
                let a := mload(0x00)
                let side := mload(add(sBuf, 0x60))
                // a bid pays at most its limit, an ask receives at least its limit
                let lim := mload(add(sBuf, 0xa0))
                let bad1 := lt(lim, price)
                if side { bad1 := gt(lim, price) }
                let e := mload(add(sBuf, 0x80))
                let mw := mload(mp)
                if or(
                    or(iszero(eq(and(shr(248, a), 3), 3)), gt(e, and(shr(add(192, mul(28, side)), a), 0xfffffff))),
                    or(and(bad1, gt(mw, 0)), gt(mw, e))
                ) { break }
                switch checked
                case 0 {
                    // optimistic: bind meta, r, vs and the owner tag; no signature check here
                    mstore(add(sBuf, 0x140), sigs)
                    calldatacopy(add(sBuf, 0x160), o, 0x60)
                    mstore(add(sBuf, 0x1c0), and(a, 0xffffffffffffffffffffffff))
                    sigs := keccak256(add(sBuf, 0x140), 0xa0)
                }
                default {
                    mstore(add(sBuf, 0x120), keccak256(sBuf, 0xe0))
                    mstore(add(sBuf, 0x140), keccak256(add(sBuf, 0xfe), 0x42))
                    let vs := calldataload(add(o, 0x40))
                    mstore(add(sBuf, 0x160), add(shr(255, vs), 27))
                    mstore(add(sBuf, 0x180), calldataload(add(o, 0x20)))
                    vs := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                    if gt(vs, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) { break }
                    mstore(add(sBuf, 0x1a0), vs)
                    mstore(0x00, 0)
                    pop(staticcall(gas(), 1, add(sBuf, 0x140), 0x80, 0x00, 0x20))
                    let signer := mul(mload(0x00), eq(returndatasize(), 0x20))
                    mstore(0x00, shl(96, signer))
                    if or(iszero(signer), iszero(eq(and(keccak256(0x00, 0x14), 0xffffffffffffffffffffffff), and(a, 0xffffffffffffffffffffffff)))) {
                        break
                    }
                }
                let lock := mul(mw, price)
                switch side
                case 0 { lock := div(mul(lock, add(10000, add(pb, mul(lt(pb, 10000), sub(10000, pb))))), 10000000) }
                default { lock := div(mul(lock, pb), 10000000) }
                // above the lane no balance can pay it: saturated at 2^42 (the debit then fails
                // with InsufficientEscrow naming this site) so it cannot reach the id bits
                if gt(lock, 0x3ffffffffff) { lock := 0x40000000000 }
                mstore(mp, or(shl(64, id), lock))
                // the meter key is snapshotted as its tag (settle compares tags), the order's
                // side, energy and limit so the clearing hash binds them (AuctionVerifier)
                mstore(
                    add(mp, toRefs),
                    or(or(shl(160, id), and(shr(96, a), 0xffffffffffffffffffffffff)), or(or(shl(96, lim), shl(192, e)), shl(224, side)))
                )
            }
            bad := div(sub(o, orders.offset), 0x60)
        }
    }

    /// The failure path of _checkOrders in plain Solidity: reverts with the named error.
    function _explainOrder(
        SignedOrder[] calldata orders,
        uint256 pos,
        uint64 interval,
        uint64 price,
        uint256 matchedWh,
        bool checked
    ) private view {
        uint256 meta = orders[pos].meta;
        if (meta >> 232 != 0) revert BadParameter("orders");
        uint32 id = uint32(meta >> 200);
        if (pos > 0 && id <= uint32(orders[pos - 1].meta >> 200)) revert OrdersNotSorted(pos, id);
        _checkOrder(orders[pos], interval, price, matchedWh, checked);
        revert BadParameter("orders");
    }

    /// Checks one order; returns the site's worst-case liability for the interval.
    function _checkOrder(SignedOrder calldata o, uint64 interval, uint64 price, uint256 matchedWh, bool checked)
        private
        view
        returns (uint256 liability)
    {
        uint256 meta = o.meta;
        uint32 id = uint32(meta >> 200);
        uint64 oInterval = uint32(meta >> 168);
        uint8 side = uint8(meta >> 160);
        uint32 energyWh = uint32(meta >> 128);
        uint64 limitPrice = uint64(meta >> 64);
        uint64 deadline = uint64(meta);
        Site storage s = _sites[id];
        // a registered site always has an owner; reading it here spares a siteCount SLOAD
        if (s.owner == address(0)) revert UnknownSite(id);
        if (!s.active) revert SiteInactive(id);
        if (_bonds[id] < bond) revert BondNotPosted(id, _bonds[id]);
        if (oInterval != interval) revert OrderWrongInterval(id, oInterval, interval);
        if (deadline < block.timestamp) revert OrderExpired(id, deadline);
        if (checked) {
            bytes32 digest = _hashTypedDataV4(
                keccak256(abi.encode(ORDER_TYPEHASH, id, oInterval, side, energyWh, limitPrice, deadline))
            );
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, o.r, o.vs);
            if (err != ECDSA.RecoverError.NoError) revert MalformedSignature(id);
            if (signer != s.owner) revert OrderSignerMismatch(id, signer);
        }
        if (side == SIDE_BID) {
            if (energyWh > s.importCapWh) revert EnergyExceedsCap(id, energyWh, s.importCapWh);
            if (matchedWh != 0 && limitPrice < price) revert PriceOutsideLimit(id, limitPrice, price);
        } else if (side == SIDE_ASK) {
            if (energyWh > s.exportCapWh) revert EnergyExceedsCap(id, energyWh, s.exportCapWh);
            if (matchedWh != 0 && limitPrice > price) revert PriceOutsideLimit(id, limitPrice, price);
        } else {
            revert InvalidSide(id, side);
        }
        if (matchedWh > energyWh) revert MatchExceedsOrder(id, matchedWh, energyWh);
        liability = _liability(matchedWh, side == SIDE_ASK, price);
    }

    /// A buyer's penalty rate on its shortfall is max(penaltyBps, 100 %): a buyer whose meter
    /// under-reports its import never pays less than the energy it took.
    function _buyerPenaltyBps() private view returns (uint256) {
        return penaltyBps < BPS ? BPS : penaltyBps;
    }

    /// A buyer pays at most the full value of what it bought plus the buyer's penalty on all
    /// of it (what a buyer that withholds its reading pays); a seller that delivers nothing pays
    /// the penalty on all it sold. Settlement pays per match with floor rounding, so it
    /// never exceeds this.
    function _liability(uint256 matchedWh, bool ask, uint256 price) private view returns (uint256) {
        return ask
            ? (matchedWh * price * penaltyBps) / (WH_PER_KWH * BPS)
            : (matchedWh * price * (BPS + _buyerPenaltyBps())) / (WH_PER_KWH * BPS);
    }

    // ---- settle ------------------------------------------------------------------------
    /// The hot path is assembly: per site one signature check in calldata. No balance is
    /// written here: each site's release (its lock plus its balance change) is bound into
    /// the record's hash and credited by `finalize` after the dispute window.
    function _settle(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        SignedReading[] calldata readings
    ) private {
        uint256 n = sites.length;
        uint256 mem;
        {
            (uint256 rec,) = _settleable(interval);
            bytes32 h = _clearingHashCalldata(interval, price, sites, matches);
            if ((uint256(h) ^ rec) >> 64 != 0) revert ClearingMismatch(interval);
            if (readings.length != n) revert ReadingCountMismatch(readings.length, n);
            // one allocation: net[n] (export - import), remaining[n], delta[n], traded[n] (Wh
            // sold or bought, SELLER bit for a seller; becomes the release words), metas[n],
            // then the clearing hash and a word for the hashes below (off the stack: the
            // reading loop needs the room)
            assembly ("memory-safe") {
                mem := mload(0x40)
                let hp := add(mem, mul(0xa0, n))
                mstore(hp, h)
                mstore(0x40, add(hp, 0x40))
            }
        }
        {
            uint256 absent = _verifyReadings(sites, readings, interval, mem, block.timestamp >= absentAllowedAt(interval));
            if (absent != 0) _checkNotPosted(interval, sites, 160, absent);
        }
        bytes32 sh = _releases(price, sites, matches, mem, n);
        uint256 endsAt_ = intervalStart(interval) + intervalSec;
        _ring[interval % ringSize] = ((uint256(sh) >> 64) << 64) | (uint256(interval) << 32)
            | ((block.timestamp - endsAt_) << 8) | STATUS_SETTLED;
    }

    /// The committed record of an interval that may be settled now, and when the interval ended.
    function _settleable(uint64 interval) private view returns (uint256 rec, uint256 endsAt) {
        rec = _ring[interval % ringSize];
        if (uint8(rec) == STATUS_FREE || uint32(rec >> 32) != interval) revert IntervalNotCommitted(interval);
        if (uint8(rec) != STATUS_COMMITTED) revert AlreadySettled(interval);
        endsAt = intervalStart(interval) + intervalSec;
        if (block.timestamp < endsAt) revert SettlementTooEarly(interval, endsAt);
        if (block.timestamp >= endsAt + settleWindowSec) revert SettlementExpired(interval, endsAt + settleWindowSec);
    }

    /// A step's settle, optimistic: the committed clearing is named by its hash, and the
    /// releases are the operator's, bound as sent with the readings (_readingSigs). Checked
    /// here: the interval's record and windows, the clearing hash, each reading's interval and
    /// an absent one's grace and posting (as _settle does). Not checked: the readings'
    /// signatures (AuctionVerifier.proveReadingForgery) and the releases, which must be what
    /// _settle computes from the readings (AuctionVerifier.proveSettlement, which settles the
    /// interval again and pays each site whose release was wrong). The record is the one
    /// _settle writes for the same releases.
    function _settleStep(uint64 interval, uint256 h, uint256[] calldata releases, SignedReading[] calldata readings)
        private
    {
        uint256 slot = interval % ringSize;
        (uint256 rec, uint256 endsAt) = _settleable(interval);
        // and one release and one reading per committed site (its count is in bits 8-15 at commit):
        // a step cannot leave a site out, which no proof could name
        if ((h ^ rec) >> 64 != 0 || releases.length != uint8(rec >> 8)) revert ClearingMismatch(interval);
        bool absentOk = block.timestamp >= absentAllowedAt(interval);
        uint256 absent;
        uint256 bad; // position + 1 of the first bad reading
        uint256 sh;
        uint256 rh;
        assembly ("memory-safe") {
            let n := releases.length
            let p := mload(0x40)
            let buf := add(p, 0x40)
            for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                let meta := calldataload(add(readings.offset, mul(0x60, k)))
                switch eq(meta, shl(255, 1))
                case 1 {
                    // withheld: only after the grace (ReadingMissing)
                    if iszero(absentOk) {
                        bad := add(k, 1)
                        break
                    }
                    absent := or(absent, shl(k, 1))
                }
                default {
                    if iszero(eq(shr(64, meta), interval)) {
                        bad := add(k, 1)
                        break
                    }
                }
                mstore(add(buf, shl(5, k)), meta)
            }
            // record hash keccak256(keccak256(clearing hash, metas hash), releases hash), as _releases
            mstore(p, h)
            mstore(add(p, 0x20), keccak256(buf, shl(5, n)))
            mstore(p, keccak256(p, 0x40))
            calldatacopy(buf, releases.offset, shl(5, n))
            mstore(add(p, 0x20), keccak256(buf, shl(5, n)))
            sh := keccak256(p, 0x40)
            calldatacopy(buf, readings.offset, mul(0x60, n))
            rh := keccak256(buf, mul(0x60, n))
        }
        if (bad != 0) {
            uint256 meta = readings[bad - 1].meta;
            uint32 id = uint32(releases[bad - 1] >> 64);
            if (meta == ABSENT) revert ReadingMissing(id, absentAllowedAt(interval));
            revert ReadingWrongInterval(id, uint64(meta >> 64), interval);
        }
        if (absent != 0) _checkNotPosted(interval, releases, 64, absent);
        _readingSigs[slot] = rh;
        _ring[slot] = ((sh >> 64) << 64) | (uint256(interval) << 32) | ((block.timestamp - endsAt) << 8) | STATUS_SETTLED;
    }

    /// From the readings filled in at `mem` (see _verifyReadings): walks the matches, turns
    /// each site's lock plus its balance change into its release word and returns the
    /// record hash keccak256(keccak256(clearing hash, metas hash), releases hash).
    function _releases(uint64 price, uint256[] calldata sites, uint256[] calldata matches, uint256 mem, uint256 n)
        private
        view
        returns (bytes32 sh)
    {
        _computeDeltas(price, matches, mem, n);
        uint256 pb = penaltyBps;
        uint256 bad;
        assembly ("memory-safe") {
            let n32 := shl(5, n)
            let delta := add(mem, shl(6, n))
            let out := add(mem, mul(0x60, n))
            for { let k := 0 } lt(k, n32) { k := add(k, 0x20) } {
                // the lock commit took (same rule as _liability) plus the change
                let x := mload(add(out, k))
                let wh := and(x, not(shl(255, 1)))
                let lock := div(mul(mul(wh, price), add(10000, add(pb, mul(lt(pb, 10000), sub(10000, pb))))), 10000000)
                if shr(255, x) { lock := div(mul(mul(wh, price), pb), 10000000) }
                // lock + delta >= 0: a site never pays more than its lock (see _liability);
                // a release must fit 64 bits below the site id
                let release := add(lock, mload(add(delta, k)))
                if gt(release, 0xffffffffffffffff) {
                    bad := add(shr(5, k), 1)
                    break
                }
                mstore(add(out, k), or(shl(64, and(shr(160, calldataload(add(sites.offset, k))), 0xffffffff)), release))
            }
            // inputsHash = keccak256(clearing hash, metas hash); record hash = keccak256(inputsHash, releases hash)
            let p := add(mem, mul(0xa0, n))
            mstore(add(p, 0x20), keccak256(add(mem, shl(7, n)), n32))
            mstore(p, keccak256(p, 0x40))
            mstore(add(p, 0x20), keccak256(out, n32))
            sh := keccak256(p, 0x40)
        }
        if (bad != 0) revert BalanceOverflow(uint32(sites[bad - 1] >> 160));
    }

    /// Checks every reading (interval, low-s signature by the snapshotted meter key) and
    /// fills net/remaining/metas (and zeroes delta and traded) at `mem`; reverts with the
    /// first bad site's error. (Few live variables: one offset walks sites, readings and the
    /// output together.)
    function _verifyReadings(
        uint256[] calldata sites,
        SignedReading[] calldata readings,
        uint64 interval,
        uint256 mem,
        bool absentOk
    ) private view returns (uint256 absent) {
        bytes32 ds = _domainSeparatorV4();
        bytes32 typeHash = READING_TYPEHASH;
        uint256 fail; // 1 wrong interval, 2 malformed signature, 3 wrong signer, 4 absent too early
        uint256 bad;
        address recovered;
        assembly ("memory-safe") {
            let n32 := shl(5, sites.length)
            // delta and traded start at zero (memory past the free pointer may be dirty)
            calldatacopy(add(mem, shl(1, n32)), calldatasize(), shl(1, n32))
            // scratch buffers past the free pointer; constant words written once:
            // sBuf: typeHash | siteId | interval | importWh | exportWh,
            // sBuf + 0xa0: 0x1901 | domainSeparator | structHash, sBuf + 0x100: digest | v | r | s
            let sBuf := mload(0x40)
            mstore(sBuf, typeHash)
            mstore(add(sBuf, 0x40), interval)
            mstore(add(sBuf, 0xa0), 0x1901)
            mstore(add(sBuf, 0xc0), ds)
            let k := 0
            for {} lt(k, n32) { k := add(k, 0x20) } {
                let rd := add(readings.offset, mul(3, k))
                let meta := calldataload(rd)
                if eq(meta, shl(255, 1)) {
                    // withheld (ABSENT): worst case for the site, see NET_ABSENT
                    if iszero(absentOk) {
                        fail := 4
                        break
                    }
                    let out := add(mem, k)
                    mstore(out, not(0xffffffffffffffffffffffffffffffff))
                    mstore(add(out, n32), shl(128, 1))
                    mstore(add(out, shl(2, n32)), meta)
                    absent := or(absent, shl(shr(5, k), 1))
                    continue
                }
                if iszero(eq(shr(64, meta), interval)) {
                    fail := 1
                    break
                }
                let ref := calldataload(add(sites.offset, k))
                mstore(add(sBuf, 0x20), and(shr(160, ref), 0xffffffff))
                mstore(add(sBuf, 0x60), and(shr(32, meta), 0xffffffff))
                mstore(add(sBuf, 0x80), and(meta, 0xffffffff))
                {
                    mstore(add(sBuf, 0xe0), keccak256(sBuf, 0xa0))
                    mstore(add(sBuf, 0x100), keccak256(add(sBuf, 0xbe), 0x42))
                    let vs := calldataload(add(rd, 0x40))
                    mstore(add(sBuf, 0x120), add(shr(255, vs), 27))
                    mstore(add(sBuf, 0x140), calldataload(add(rd, 0x20)))
                    vs := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                    if gt(vs, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) {
                        fail := 2
                        break
                    }
                    mstore(add(sBuf, 0x160), vs)
                    mstore(0x00, 0)
                    pop(staticcall(gas(), 1, add(sBuf, 0x100), 0x80, 0x00, 0x20))
                    let signer := mul(mload(0x00), eq(returndatasize(), 0x20))
                    if iszero(signer) {
                        fail := 2
                        break
                    }
                    mstore(0x00, shl(96, signer))
                    if iszero(eq(and(keccak256(0x00, 0x14), 0xffffffffffffffffffffffff), and(ref, 0xffffffffffffffffffffffff))) {
                        fail := 3
                        recovered := signer
                        break
                    }
                }
                let out := add(mem, k)
                let net := sub(mload(add(sBuf, 0x80)), mload(add(sBuf, 0x60))) // export - import, two's complement
                mstore(out, net)
                if slt(net, 0) { net := sub(0, net) }
                mstore(add(out, n32), net)
                mstore(add(out, shl(2, n32)), meta)
            }
            bad := shr(5, k)
        }
        if (fail != 0) {
            uint32 id = uint32(sites[bad] >> 160);
            if (fail == 1) revert ReadingWrongInterval(id, uint64(readings[bad].meta >> 64), interval);
            if (fail == 2) revert MalformedSignature(id);
            if (fail == 4) revert ReadingMissing(id, absentAllowedAt(interval));
            revert ReadingSignerMismatch(id, recovered);
        }
    }

    /// Walks the matches in committed order; each side's delivered energy is consumed
    /// match by match: paid = min(traded, seller's remaining export, buyer's remaining
    /// import); each side pays the penalty on its own shortfall to its counterparty. Also
    /// sums each site's traded energy (the lock's basis) in the same walk.
    /// Positions and energies were range-checked at commit (the hash binds them).
    function _computeDeltas(uint256 price, uint256[] calldata matches, uint256 mem, uint256 n)
        private
        view
    {
        uint256 pb = penaltyBps;
        assembly ("memory-safe") {
            let n32 := shl(5, n)
            let rem := add(mem, n32)
            let delta := add(rem, n32)
            let traded := add(mem, mul(0x60, n))
            let mOff := matches.offset
            for { let m := 0 } lt(m, matches.length) { m := add(m, 1) } {
                let w := calldataload(add(mOff, shl(5, m)))
                let sp := shl(5, and(shr(40, w), 0xff))
                let bp := shl(5, and(shr(32, w), 0xff))
                let e := and(w, 0xffffffff)
                let sAvail := 0
                if sgt(mload(add(mem, sp)), 0) {
                    let r := mload(add(rem, sp))
                    sAvail := e
                    if lt(r, e) { sAvail := r }
                    mstore(add(rem, sp), sub(r, sAvail))
                }
                let bAvail := 0
                if slt(mload(add(mem, bp)), 0) {
                    let r := mload(add(rem, bp))
                    bAvail := e
                    if lt(r, e) { bAvail := r }
                    mstore(add(rem, bp), sub(r, bAvail))
                }
                let paid := sAvail
                if lt(bAvail, sAvail) { paid := bAvail }
                let value := div(mul(paid, price), 1000)
                let sPenalty := div(mul(mul(sub(e, sAvail), price), pb), 10000000)
                let bShort := sub(e, bAvail)
                if eq(mload(add(mem, bp)), not(0xffffffffffffffffffffffffffffffff)) { bShort := e } // withheld: the penalty on all it bought
                // a buyer's shortfall never costs less than the energy: max(penaltyBps, 100 %)
                let bPenalty := div(mul(mul(bShort, price), add(pb, mul(lt(pb, 10000), sub(10000, pb)))), 10000000)
                let toSeller := sub(add(value, bPenalty), sPenalty)
                mstore(add(delta, sp), add(mload(add(delta, sp)), toSeller))
                mstore(add(delta, bp), sub(mload(add(delta, bp)), toSeller))
                mstore(add(traded, sp), or(add(mload(add(traded, sp)), e), shl(255, 1)))
                mstore(add(traded, bp), add(mload(add(traded, bp)), e))
            }
        }
    }


    // ---- finalize ----------------------------------------------------------------------
    function _finalize(uint64 interval, bytes32 inputsHash, uint256[] calldata releases) private {
        uint256 slot = interval % ringSize;
        uint256 rec = _ring[slot];
        if (uint8(rec) != STATUS_SETTLED || uint32(rec >> 32) != interval) revert NotSettled(interval);
        uint256 finalAt = _settledAt(interval, rec) + disputeWindowSec;
        if (block.timestamp < finalAt) revert DisputeWindowOpen(interval, finalAt);
        bytes32 sh = keccak256(abi.encode(inputsHash, keccak256(abi.encodePacked(releases))));
        if ((uint256(sh) ^ rec) >> 64 != 0) revert SettlementMismatch(interval);
        _creditLanes(releases);
        _ring[slot] = (rec & ~uint256(0xff)) | STATUS_FINAL;
    }

    /// The dispute path's single reading check, in plain Solidity.
    function _checkReading(uint256 ref, uint256 meta, bytes32 r, bytes32 vs, uint64 interval) private view {
        uint32 id = uint32(ref >> 160);
        uint64 readingInterval = uint64(meta >> 64);
        if (readingInterval != interval || meta >> 128 != 0) revert ReadingWrongInterval(id, readingInterval, interval);
        bytes32 structHash = keccak256(
            abi.encode(READING_TYPEHASH, id, interval, uint32(meta >> 32), uint32(meta))
        );
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), r, vs);
        if (err != ECDSA.RecoverError.NoError) revert MalformedSignature(id);
        if (_tag(signer) != uint96(ref)) revert ReadingSignerMismatch(id, signer);
    }


    /// A reading declared absent must not be one its site put on record.
    /// (`words[k] >> shift` is position k's site id: a site ref's, or a release word's.)
    function _checkNotPosted(uint64 interval, uint256[] calldata words, uint256 shift, uint256 absent) private view {
        uint256 posted = _posted[interval % ringSize];
        if (posted >> 64 != interval) return;
        uint256 both = posted & absent;
        if (both == 0) return;
        uint256 k;
        while ((both >> k) & 1 == 0) ++k;
        revert ReadingWasPosted(uint32(words[k] >> shift));
    }

    // ---- readings ----------------------------------------------------------------------
    /// @notice When a withheld reading may be settled as absent: half the settle window after
    /// the interval ends. Until then settle needs every reading, so an honest site has that
    /// long to get its reading to whoever settles, or to post it here (postReading).
    function absentAllowedAt(uint64 interval) public view returns (uint256) {
        return intervalStart(interval) + intervalSec + settleWindowSec / 2;
    }

    /// @notice A site's defence against being settled as absent: puts the clearing's
    /// `pos`-th site's signed reading on record (anyone may post it; the meter key's
    /// signature is what counts). Settle then refuses to treat that site as absent
    /// (`ReadingWasPosted`); the reading is logged in `ReadingPosted` for whoever settles.
    function postReading(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256 pos,
        SignedReading calldata reading
    ) external {
        uint256 slot = interval % ringSize;
        uint256 rec = _ring[slot];
        if (uint8(rec) == STATUS_FREE || uint32(rec >> 32) != interval) revert IntervalNotCommitted(interval);
        if (uint8(rec) != STATUS_COMMITTED) revert AlreadySettled(interval);
        uint256 endsAt = intervalStart(interval) + intervalSec;
        if (block.timestamp < endsAt) revert SettlementTooEarly(interval, endsAt);
        bytes32 h = _clearingHashCalldata(interval, price, sites, matches);
        if ((uint256(h) ^ rec) >> 64 != 0) revert ClearingMismatch(interval);
        if (pos >= sites.length) revert ReadingCountMismatch(pos, sites.length);
        _checkReading(sites[pos], reading.meta, reading.r, reading.vs, interval);
        uint256 posted = _posted[slot];
        if (posted >> 64 != interval) posted = uint256(interval) << 64;
        _posted[slot] = posted | (1 << pos);
        emit ReadingPosted(interval, uint32(sites[pos] >> 160), reading.meta, reading.r, reading.vs);
    }

    // ---- feeder check --------------------------------------------------------------------
    /// @notice The operator registers the community's point-of-coupling meter key (it signs a
    /// MeterReading with siteId 2^32 - 1, FEEDER_SITE_ID in TypeScript) and the check's
    /// tolerance in basis points of the sites' gross flow (import + export).
    function setFeeder(address key, uint16 toleranceBps) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        _feeder = uint256(uint160(key)) | (uint256(toleranceBps) << 160);
        emit FeederSet(key, toleranceBps);
    }

    /// @notice The feeder check, off the step's path: anyone posts the feeder meter's signed
    /// reading of a settled (or final) interval with the settled readings' metas (checked
    /// against the record: `clearingHash` as ClearingCommitted logged it, `releasesHash` as in
    /// dispute); the point of coupling's import - export is compared with the sum of the
    /// sites' import - export (a withheld reading counts 0), and a difference above
    /// toleranceBps of the sites' gross flow logs FeederMismatch. Nothing else changes:
    /// the flag is for people (the HMI shows it) to look at that interval's meters.
    function postFeederReading(
        uint64 interval,
        bytes32 clearingHash,
        uint256[] calldata metas,
        bytes32 releasesHash,
        SignedReading calldata reading
    ) external {
        uint256 rec = _ring[interval % ringSize];
        uint256 st = uint8(rec);
        if ((st != STATUS_SETTLED && st != STATUS_FINAL) || uint32(rec >> 32) != interval) revert NotSettled(interval);
        bytes32 inputsHash = keccak256(abi.encode(clearingHash, keccak256(abi.encodePacked(metas))));
        if ((uint256(keccak256(abi.encode(inputsHash, releasesHash))) ^ rec) >> 64 != 0) revert SettlementMismatch(interval);
        uint256 fd = _feeder;
        _checkReading((uint256(type(uint32).max) << 160) | _tag(address(uint160(fd))), reading.meta, reading.r, reading.vs, interval);
        int256 sitesNet;
        uint256 gross;
        for (uint256 k; k < metas.length; ++k) {
            uint256 m = metas[k];
            if (m == ABSENT) continue;
            sitesNet += int256(uint256(uint32(m >> 32))) - int256(uint256(uint32(m)));
            gross += uint32(m >> 32) + uint256(uint32(m));
        }
        int256 feederNet = int256(uint256(uint32(reading.meta >> 32))) - int256(uint256(uint32(reading.meta)));
        uint256 diff = uint256(feederNet > sitesNet ? feederNet - sitesNet : sitesNet - feederNet);
        if (diff * BPS > (fd >> 160) * gross) emit FeederMismatch(interval, feederNet, sitesNet);
    }

    // ---- dispute -----------------------------------------------------------------------
    /// @notice Within the dispute window, proves that site `sites[pos]`'s meter key signed a
    /// reading for `interval` that contradicts the one settled (a meter key that signed two
    /// readings proves neither). That site is re-settled at its worst case, as if it had
    /// withheld its reading (see settle); every other site keeps its settlement, and the
    /// record takes the new releases (finalize credits them after the same window). The
    /// offender's whole reserved bond goes to the free balance of `reporterSiteId`, which
    /// the caller must own (the first valid proof's named beneficiary) and which must not be
    /// the offender's owner (`SelfDispute`: self-reporting pays nothing), and the offender
    /// trades again only once a deposit has restored its bond. `releasesHash` is keccak256
    /// of the packed releases the record holds (see finalize).
    function dispute(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata settledMetas,
        bytes32 releasesHash,
        uint256 pos,
        SignedReading calldata contradicting,
        uint32 reporterSiteId
    ) external {
        uint256 slot = interval % ringSize;
        uint256 rec = _ring[slot];
        if (uint8(rec) != STATUS_SETTLED || uint32(rec >> 32) != interval) revert NotSettled(interval);
        uint256 closedAt = _settledAt(interval, rec) + disputeWindowSec;
        if (block.timestamp >= closedAt) revert DisputeWindowClosed(interval, closedAt);
        bytes32 h = _clearingHashCalldata(interval, price, sites, matches);
        bytes32 inputsHash = keccak256(abi.encode(h, keccak256(abi.encodePacked(settledMetas))));
        bytes32 sh = keccak256(abi.encode(inputsHash, releasesHash));
        if ((uint256(sh) ^ rec) >> 64 != 0) revert SettlementMismatch(interval);
        if (pos >= sites.length) revert ReadingCountMismatch(pos, sites.length);
        uint256 ref = sites[pos];
        uint32 offender = uint32(ref >> 160);
        // a reading settled as absent is contradicted by nothing: its site was settled at its
        // worst case already
        if (contradicting.meta == settledMetas[pos] || settledMetas[pos] == ABSENT) revert ReadingNotContradicting(offender);
        _checkReading(ref, contradicting.meta, contradicting.r, contradicting.vs, interval);
        _onlyOwner(reporterSiteId);
        // the offender's own owner (it owns the reporter site: _onlyOwner) is paid nothing: it
        // could otherwise report itself from a second site and take its own bond back
        if (msg.sender == _sites[offender].owner) revert SelfDispute(offender);
        _checkDisputeCommitted(reporterSiteId, interval, pos, contradicting);

        uint256 mem = _fillFromMetas(settledMetas, pos, h);
        bytes32 nsh = _releases(price, sites, matches, mem, sites.length);
        // same interval, settle time and status; the new record hash
        _ring[slot] = ((uint256(nsh) >> 64) << 64) | uint64(rec);
        uint256 slashed = _bonds[offender];
        _bonds[offender] = 0;
        uint256 reporterBal = balanceOf(reporterSiteId) + slashed;
        if (reporterBal > LANE_MASK) revert BalanceOverflow(reporterSiteId);
        _setBalance(reporterSiteId, reporterBal);
        _writeHot(offender, siteCount); // no longer bonded: it cannot trade
        emit Disputed(interval, offender, reporterSiteId, slashed);
    }

    /// @notice The first half of a dispute: commits to keccak256(abi.encode(sender,
    /// reporterSiteId, interval, pos, reading meta, r, vs)) (core/chain/disputeCommitment.ts)
    /// so the proof stays private; dispute() reveals it from a later block. A copy of a
    /// revealed proof sent by anyone else has no commitment of its own and is refused, so
    /// the reward cannot be front-run. A commitment keeps the block it was first made in.
    function commitDispute(bytes32 commitment) external {
        if (_disputeCommits[commitment] == 0) _disputeCommits[commitment] = block.number;
    }

    function _checkDisputeCommitted(uint32 reporterSiteId, uint64 interval, uint256 pos, SignedReading calldata r)
        private
        view
    {
        bytes32 commitment = keccak256(abi.encode(msg.sender, reporterSiteId, interval, pos, r.meta, r.r, r.vs));
        uint256 at = _disputeCommits[commitment];
        if (at == 0 || at >= block.number) revert DisputeNotCommitted();
    }

    /// The settlement memory (_verifyReadings's layout) from readings settle already checked,
    /// the one at `pos` replaced by ABSENT; the clearing hash after it.
    function _fillFromMetas(uint256[] calldata metas, uint256 pos, bytes32 h) private pure returns (uint256 mem) {
        assembly ("memory-safe") {
            let n32 := shl(5, metas.length)
            mem := mload(0x40)
            calldatacopy(add(mem, shl(1, n32)), calldatasize(), shl(1, n32))
            for { let k := 0 } lt(k, n32) { k := add(k, 0x20) } {
                let meta := calldataload(add(metas.offset, k))
                if eq(k, shl(5, pos)) { meta := shl(255, 1) }
                let out := add(mem, k)
                switch eq(meta, shl(255, 1))
                case 1 {
                    mstore(out, not(0xffffffffffffffffffffffffffffffff))
                    mstore(add(out, n32), shl(128, 1))
                }
                default {
                    let net := sub(and(meta, 0xffffffff), and(shr(32, meta), 0xffffffff))
                    mstore(out, net)
                    if slt(net, 0) { net := sub(0, net) }
                    mstore(add(out, n32), net)
                }
                mstore(add(out, shl(2, n32)), meta)
            }
            let hp := add(mem, mul(0xa0, metas.length))
            mstore(hp, h)
            mstore(0x40, add(hp, 0x40))
        }
    }

    // ---- operator fraud proof (AuctionVerifier) -------------------------------------------
    /// @notice The interval's ring word (hash prefix | interval | settle offset | status): what
    /// the verifier checks a proven clearing against.
    function clearingRecord(uint64 interval) external view returns (uint256) {
        return _ring[interval % ringSize];
    }

    /// @notice What a step bound of `interval`'s signatures it did not check (see _orderSigs,
    /// _readingSigs): the words AuctionVerifier's forgery proofs check their data against.
    function signatureRecord(uint64 interval) external view returns (uint256 orders, uint256 readings) {
        uint256 slot = interval % ringSize;
        return (_orderSigs[slot], _readingSigs[slot]);
    }

    /// @notice The verifier's re-settlement after a proven forged reading: the interval
    /// (settled, its clearing checked by the verifier) is settled again with `metas`, the
    /// same readings but each forged one replaced by its meter's signed reading; the record
    /// keeps its settle time and status, and `readingsHash` binds the corrected readings.
    function resettle(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata metas,
        uint256 readingsHash
    ) external returns (uint256[] memory releases) {
        if (msg.sender != address(verifier)) revert NotVerifier(msg.sender);
        uint256 slot = interval % ringSize;
        uint256 n = sites.length;
        uint256 mem = _fillFromMetas(metas, metas.length, _clearingHashCalldata(interval, price, sites, matches));
        bytes32 nsh = _releases(price, sites, matches, mem, n);
        _ring[slot] = ((uint256(nsh) >> 64) << 64) | uint64(_ring[slot]);
        _readingSigs[slot] = readingsHash;
        releases = new uint256[](n);
        assembly ("memory-safe") {
            mcopy(add(releases, 0x20), add(mem, mul(0x60, n)), shl(5, n))
        }
    }

    /// @notice The verifier's word on the operator's bond: commits need it whole.
    function setOperatorBonded(bool bonded) external {
        if (msg.sender != address(verifier)) revert NotVerifier(msg.sender);
        _operatorBonded = bonded;
    }

    // ---- internals ---------------------------------------------------------------------
    /// Whether this call checks every signature itself: everything but a step (marketStep),
    /// which commits and settles optimistically (see _orderSigs, _readingSigs). A runtime
    /// value on purpose: a constant argument makes the compiler copy the commit and settle
    /// code once per value (~6 500 bytes, past EIP-170).
    function _checked() private pure returns (bool) {
        return msg.sig != this.marketStep.selector;
    }

    function _tag(address a) private pure returns (uint96) {
        return uint96(uint256(keccak256(abi.encodePacked(a))));
    }

    /// Replaces the registry blob by one with site `siteId`'s hot word rewritten (appended
    /// when siteId == oldCount, a registration). Costs a CREATE and 200 gas per code byte.
    function _writeHot(uint32 siteId, uint256 oldCount) private {
        Site storage s = _sites[siteId];
        uint256 word = uint256(_tag(s.owner)) | (uint256(_tag(_keys[siteId].meterKey)) << 96)
            | (uint256(s.importCapWh) << 192) | (uint256(s.exportCapWh) << 220) | (s.active ? 1 << 248 : 0)
            | (_bonds[siteId] >= bond ? 1 << 249 : 0);
        uint256 count = siteId < oldCount ? oldCount : siteId + 1;
        address old = _registry;
        address blob;
        assembly ("memory-safe") {
            let p := mload(0x40)
            let size := add(1, shl(5, count)) // runtime: STOP, then the words
            // init code (10 bytes): PUSH2 size DUP1 PUSH1 10 RETURNDATASIZE CODECOPY
            // RETURNDATASIZE RETURN, i.e. return the code that follows it; then the STOP byte
            mstore(p, or(or(shl(248, 0x61), shl(232, size)), shl(168, 0x80600a3d393df300)))
            extcodecopy(old, add(p, 11), 1, shl(5, oldCount))
            mstore(add(p, add(11, shl(5, siteId))), word)
            blob := create(0, p, add(10, size))
        }
        if (blob == address(0)) revert BadParameter("registry");
        _registry = blob;
    }

    /// Whether `interval` is at or past `status` (settled: settled, final or void; final:
    /// final or void): work a step skips because someone else did it first.
    function _done(uint64 interval, uint256 status) private view returns (bool) {
        uint256 rec = _ring[interval % ringSize];
        uint256 st = uint8(rec);
        return uint32(rec >> 32) == interval && st != STATUS_FREE && (st == STATUS_VOID || st >= status);
    }

    function _settledAt(uint64 interval, uint256 rec) private view returns (uint256) {
        return intervalStart(interval) + intervalSec + ((rec >> 8) & 0xffffff);
    }

    /// Adds the amounts of `words` (siteId << 64 | amount, sorted by site id) to the free
    /// balances: one SLOAD/SSTORE per six neighbouring site ids.
    function _creditLanes(uint256[] memory words) private {
        _moveLanes(words, false);
    }

    /// Takes the amounts of `words` out of the free balances; a short one reverts.
    function _debitLanes(uint256[] memory words) private {
        _moveLanes(words, true);
    }

    function _moveLanes(uint256[] memory words, bool debit) private {
        uint256 fail; // 2 short, 3 unknown site
        uint256 failWord;
        uint256 failBal;
        assembly ("memory-safe") {
            let lanesSlot := _lanes.slot
            let ovSlot := _overflow.slot
            let p := add(words, 0x20)
            let end := add(p, shl(5, mload(words)))
            let cur := not(0)
            let word := 0
            let mask := 0x3ffffffffff // LANE_MASK
            for {} lt(p, end) { p := add(p, 0x20) } {
                let w := mload(p)
                let id := and(shr(64, w), 0xffffffff)
                let amount := and(w, 0xffffffffffffffff)
                if gt(id, 63) {
                    fail := 3
                    failWord := w
                    break
                }
                let ls := div(id, 6)
                if iszero(eq(ls, cur)) {
                    if iszero(eq(cur, not(0))) { sstore(add(lanesSlot, cur), word) }
                    cur := ls
                    word := sload(add(lanesSlot, ls))
                }
                let shift := mul(mod(id, 6), 42)
                let bal := and(shr(shift, word), mask)
                switch debit
                case 0 {
                    bal := add(bal, amount)
                    if gt(bal, mask) {
                        // income beyond the lane: to the side balance, so finalize never reverts
                        mstore(0x00, id)
                        mstore(0x20, ovSlot)
                        let k := keccak256(0x00, 0x40)
                        sstore(k, add(sload(k), sub(bal, mask)))
                        bal := mask
                    }
                }
                default {
                    if lt(bal, amount) {
                        fail := 2
                        failWord := w
                        failBal := bal
                        break
                    }
                    bal := sub(bal, amount)
                }
                word := or(and(word, not(shl(shift, mask))), shl(shift, bal))
            }
            if iszero(fail) {
                if iszero(eq(cur, not(0))) { sstore(add(lanesSlot, cur), word) }
            }
        }
        if (fail == 2) revert InsufficientEscrow(uint32(failWord >> 64), uint64(failWord), failBal);
        if (fail == 3) revert UnknownSite(uint32(failWord >> 64));
    }

    /// Same bytes as abi.encode(interval, price, sites, matches).
    function _clearingHash(uint64 interval, uint64 price, uint256[] memory sites, uint256[] calldata matches)
        private
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let ns := shl(5, mload(sites))
            let nm := shl(5, matches.length)
            mstore(p, interval)
            mstore(add(p, 0x20), price)
            mstore(add(p, 0x40), 0x80)
            let mOff := add(0xa0, ns)
            mstore(add(p, 0x60), mOff)
            mcopy(add(p, 0x80), sites, add(ns, 0x20))
            mstore(add(p, mOff), matches.length)
            calldatacopy(add(add(p, mOff), 0x20), matches.offset, nm)
            h := keccak256(p, add(add(mOff, 0x20), nm))
        }
    }

    /// Same bytes as abi.encode(interval, price, sites, matches), copied straight from calldata.
    function _clearingHashCalldata(uint64 interval, uint64 price, uint256[] calldata sites, uint256[] calldata matches)
        private
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let ns := shl(5, sites.length)
            let nm := shl(5, matches.length)
            mstore(p, interval)
            mstore(add(p, 0x20), price)
            mstore(add(p, 0x40), 0x80)
            let mOff := add(0xa0, ns)
            mstore(add(p, 0x60), mOff)
            mstore(add(p, 0x80), sites.length)
            calldatacopy(add(p, 0xa0), sites.offset, ns)
            mstore(add(p, mOff), matches.length)
            calldatacopy(add(add(p, mOff), 0x20), matches.offset, nm)
            h := keccak256(p, add(add(mOff, 0x20), nm))
        }
    }

    function _site(uint32 siteId) private view returns (Site storage s) {
        if (siteId >= siteCount) revert UnknownSite(siteId);
        s = _sites[siteId];
    }

    function _onlyOwner(uint32 siteId) private view returns (Site storage s) {
        s = _site(siteId);
        if (msg.sender != s.owner) revert NotSiteOwner(siteId, msg.sender);
    }

    function _setBalance(uint32 siteId, uint256 bal) private {
        uint256 shift = (siteId % LANES) * LANE_BITS;
        uint256 slot = siteId / LANES;
        _lanes[slot] = (_lanes[slot] & ~(LANE_MASK << shift)) | (bal << shift);
    }

    /// An order signed now can be committed up to the start of its interval, at most two
    /// intervals ahead of the running one: withdrawals and an owner's leave wait this long.
    function _commitDelay() private view returns (uint256) {
        return 3 * intervalSec;
    }

    function _exitDelay() private view returns (uint256) {
        // an interval can be committed up to 2 intervals ahead, settled within the settle
        // window after it ends, and disputed within the dispute window after that
        return 3 * intervalSec + settleWindowSec + disputeWindowSec;
    }

}
