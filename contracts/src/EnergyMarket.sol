// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title GridMesh peer-to-peer energy market: site registry, escrow, interval records.
/// @notice Matching happens off-chain (a uniform-price double auction every site can
/// recompute); the operator commits the clearing, the contract checks every match against
/// the sites' EIP-712 signed orders and keeps only a hash of it. After delivery anyone
/// settles the interval with the sites' EIP-712 signed meter readings: min(traded,
/// delivered) is paid at the clearing price, shortfalls pay a penalty to the counterparty,
/// and the netted balance changes land in one batch. A site that proves, within the
/// dispute window, that another site's meter signed a contradicting reading for a settled
/// interval receives that site's bond, and the offender is deactivated.
///
/// Gas layout: balances are uint64 lanes, four sites per storage slot, so a settlement
/// writes one slot per four neighbouring site ids; an interval is one slot (192-bit hash
/// prefix | settledAt | status); meter keys are snapshotted into the clearing hash at
/// commit so settlement reads them from calldata instead of storage.
contract EnergyMarket is EIP712 {
    using SafeERC20 for IERC20;

    // ---- constants ---------------------------------------------------------------------
    uint256 public constant MAX_SITES = 64;
    uint256 public constant MAX_MATCHES = 128;
    uint8 public constant SIDE_BID = 0;
    uint8 public constant SIDE_ASK = 1;
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(uint32 siteId,uint64 interval,uint8 side,uint32 energyWh,uint64 limitPrice,uint64 deadline)"
    );
    bytes32 public constant READING_TYPEHASH =
        keccak256("MeterReading(uint32 siteId,uint64 interval,uint32 importWh,uint32 exportWh)");

    uint256 private constant STATUS_COMMITTED = 1;
    uint256 private constant STATUS_SETTLED = 2;
    uint256 private constant STATUS_DISPUTED = 3;
    uint256 private constant LANE_MASK = type(uint64).max;
    /// Price is token base units per kWh, energy is Wh: value = energyWh * price / 1000.
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant BPS = 10_000;

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
    }

    struct SignedOrder {
        uint32 siteId;
        uint64 interval;
        uint8 side;
        uint32 energyWh;
        uint64 limitPrice;
        uint64 deadline;
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
    error ClearingMismatch(uint64 interval);
    error ReadingCountMismatch(uint256 count, uint256 expected);
    error ReadingWrongInterval(uint32 siteId, uint64 readingInterval, uint64 interval);
    error ReadingSignerMismatch(uint32 siteId, address recovered);
    error NotSettled(uint64 interval);
    error DisputeWindowClosed(uint64 interval, uint256 closedAt);
    error SettlementMismatch(uint64 interval);
    error ReadingNotContradicting(uint32 siteId);
    error SelfDispute(uint32 siteId);
    error BalanceOverflow(uint32 siteId);
    error WithdrawExceedsAvailable(uint32 siteId, uint256 amount, uint256 available);

    // ---- events ------------------------------------------------------------------------
    event SiteRegistered(uint32 indexed siteId, address indexed owner, address meterKey, uint32 importCapWh, uint32 exportCapWh);
    event MeterKeyRotated(uint32 indexed siteId, address meterKey);
    event SiteActiveChanged(uint32 indexed siteId, bool active);
    event Deposited(uint32 indexed siteId, address indexed from, uint256 amount);
    event Withdrawn(uint32 indexed siteId, address indexed to, uint256 amount);
    event ClearingCommitted(uint64 indexed interval, uint64 price, bytes32 clearingHash, uint256[] sites, uint256[] matches);
    event IntervalSettled(uint64 indexed interval, bytes32 settlementHash, uint256 tradedWh, uint256 settledWh);
    event Disputed(uint64 indexed interval, uint32 indexed offenderSiteId, uint32 reporterSiteId, uint256 slashed);

    // ---- configuration -----------------------------------------------------------------
    IERC20 public immutable token;
    address public immutable operator;
    uint256 public immutable genesis;
    uint256 public immutable intervalSec;
    uint256 public immutable settleWindowSec;
    uint256 public immutable disputeWindowSec;
    uint256 public immutable penaltyBps;
    uint256 public immutable bond;

    // ---- state -------------------------------------------------------------------------
    uint32 public siteCount;
    mapping(uint256 => Site) private _sites;
    mapping(uint256 => SiteKey) private _keys;
    uint256[MAX_SITES / 4] private _lanes;
    /// interval => hash[255:64] | settledAt[47:8] | status[7:0]
    mapping(uint64 => uint256) private _records;

    struct Config {
        IERC20 token;
        address operator;
        uint256 genesis;
        uint256 intervalSec;
        uint256 settleWindowSec;
        uint256 disputeWindowSec;
        uint256 penaltyBps;
        uint256 bond;
    }

    constructor(Config memory c) EIP712("GridMesh Market", "1") {
        if (address(c.token) == address(0) || c.operator == address(0)) revert ZeroAddress();
        if (c.intervalSec == 0) revert BadParameter("intervalSec");
        if (c.penaltyBps > BPS) revert BadParameter("penaltyBps");
        if (c.bond > LANE_MASK) revert BadParameter("bond");
        token = c.token;
        operator = c.operator;
        genesis = c.genesis;
        intervalSec = c.intervalSec;
        settleWindowSec = c.settleWindowSec;
        disputeWindowSec = c.disputeWindowSec;
        penaltyBps = c.penaltyBps;
        bond = c.bond;
    }

    // ---- registry ----------------------------------------------------------------------
    function registerSite(address owner, address meterKey, uint32 importCapWh, uint32 exportCapWh)
        external
        returns (uint32 siteId)
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (owner == address(0) || meterKey == address(0)) revert ZeroAddress();
        siteId = siteCount;
        if (siteId >= MAX_SITES) revert TooManySites(MAX_SITES);
        siteCount = siteId + 1;
        _sites[siteId] = Site(owner, importCapWh, exportCapWh, true);
        _keys[siteId] = SiteKey(meterKey, 0);
        emit SiteRegistered(siteId, owner, meterKey, importCapWh, exportCapWh);
    }

    /// @notice The owner rotates the meter key; clearings committed before keep the old key.
    function rotateMeterKey(uint32 siteId, address meterKey) external {
        _onlyOwner(siteId);
        if (meterKey == address(0)) revert ZeroAddress();
        _keys[siteId].meterKey = meterKey;
        emit MeterKeyRotated(siteId, meterKey);
    }

    /// @notice The owner may leave (the bond unlocks once every interval it could be in is
    /// final); only the operator re-admits a site.
    function setActive(uint32 siteId, bool active) external {
        Site storage s = _site(siteId);
        if (active) {
            if (msg.sender != operator) revert NotOperator(msg.sender);
        } else if (msg.sender != s.owner && msg.sender != operator) {
            revert NotSiteOwner(siteId, msg.sender);
        }
        s.active = active;
        if (!active) _keys[siteId].unlockAt = uint40(block.timestamp + _exitDelay());
        emit SiteActiveChanged(siteId, active);
    }

    function site(uint32 siteId) external view returns (Site memory, address meterKey) {
        return (_site(siteId), _keys[siteId].meterKey);
    }

    // ---- escrow ------------------------------------------------------------------------
    function deposit(uint32 siteId, uint256 amount) external {
        _site(siteId);
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 bal = balanceOf(siteId) + amount;
        if (bal > LANE_MASK) revert BalanceOverflow(siteId);
        _setBalance(siteId, bal);
        emit Deposited(siteId, msg.sender, amount);
    }

    /// @notice Pull withdrawal to the site owner; an active site keeps its bond in escrow.
    function withdraw(uint32 siteId, uint256 amount) external {
        Site storage s = _onlyOwner(siteId);
        if (amount == 0) revert ZeroAmount();
        uint256 available = withdrawable(siteId);
        if (amount > available) revert WithdrawExceedsAvailable(siteId, amount, available);
        _setBalance(siteId, balanceOf(siteId) - amount);
        emit Withdrawn(siteId, s.owner, amount);
        token.safeTransfer(s.owner, amount);
    }

    function withdrawable(uint32 siteId) public view returns (uint256) {
        uint256 bal = balanceOf(siteId);
        bool locked = _sites[siteId].active || block.timestamp < _keys[siteId].unlockAt;
        if (!locked) return bal;
        return bal > bond ? bal - bond : 0;
    }

    function balanceOf(uint32 siteId) public view returns (uint256) {
        return (_lanes[siteId >> 2] >> ((siteId & 3) * 64)) & LANE_MASK;
    }

    // ---- time --------------------------------------------------------------------------
    function intervalStart(uint64 interval) public view returns (uint256) {
        return genesis + uint256(interval) * intervalSec;
    }

    /// @return status 0 none, 1 committed, 2 settled, 3 disputed; settledAt; final
    function intervalRecord(uint64 interval) external view returns (uint8 status, uint256 settledAt, bool isFinal) {
        uint256 rec = _records[interval];
        status = uint8(rec);
        settledAt = (rec >> 8) & type(uint40).max;
        isFinal = status == STATUS_SETTLED && block.timestamp >= settledAt + disputeWindowSec;
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---- commit ------------------------------------------------------------------------
    /// @notice Commits the clearing of `interval` at uniform `price`. `orders` are the
    /// matched sites' signed orders sorted by site id; a match word is
    /// sellerPos << 40 | buyerPos << 32 | energyWh with positions into `orders`.
    function commitClearing(uint64 interval, uint64 price, SignedOrder[] calldata orders, uint256[] calldata matches)
        external
    {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        uint256 n = orders.length;
        if (n > MAX_SITES) revert TooManyOrders(n, MAX_SITES);
        if (matches.length > MAX_MATCHES) revert TooManyMatches(matches.length, MAX_MATCHES);
        {
            uint256 startsAt = intervalStart(interval);
            if (block.timestamp >= startsAt) revert CommitTooLate(interval, startsAt);
            // Bounded look-ahead keeps the exit delay of a leaving site finite.
            uint256 opensAt = startsAt > 2 * intervalSec ? startsAt - 2 * intervalSec : 0;
            if (block.timestamp < opensAt) revert CommitTooEarly(interval, opensAt);
        }
        if (_records[interval] != 0) revert IntervalAlreadyCommitted(interval);

        uint256[] memory matched = new uint256[](n);
        for (uint256 m; m < matches.length; ++m) {
            uint256 w = matches[m];
            uint256 sellerPos = (w >> 40) & 0xff;
            uint256 buyerPos = (w >> 32) & 0xff;
            if (sellerPos >= n || buyerPos >= n || w >> 48 != 0) revert MatchOutOfRange(m);
            if (orders[sellerPos].side != SIDE_ASK || orders[buyerPos].side != SIDE_BID) revert MatchWrongSide(m);
            uint256 e = uint32(w);
            matched[sellerPos] += e;
            matched[buyerPos] += e;
        }

        uint256[] memory refs = new uint256[](n);
        uint256 prevId;
        for (uint256 i; i < n; ++i) {
            SignedOrder calldata o = orders[i];
            uint32 id = o.siteId;
            if (i > 0 && id <= prevId) revert OrdersNotSorted(i, id);
            prevId = id;
            _checkOrder(o, interval, price, matched[i]);
            refs[i] = (uint256(id) << 160) | uint160(_keys[id].meterKey);
        }

        bytes32 h = _clearingHash(interval, price, refs, matches);
        _records[interval] = ((uint256(h) >> 64) << 64) | STATUS_COMMITTED;
        emit ClearingCommitted(interval, price, h, refs, matches);
    }

    function _checkOrder(SignedOrder calldata o, uint64 interval, uint64 price, uint256 matchedWh) private view {
        uint32 id = o.siteId;
        if (id >= siteCount) revert UnknownSite(id);
        Site storage s = _sites[id];
        if (!s.active) revert SiteInactive(id);
        if (o.interval != interval) revert OrderWrongInterval(id, o.interval, interval);
        if (o.deadline < block.timestamp) revert OrderExpired(id, o.deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(ORDER_TYPEHASH, id, o.interval, o.side, o.energyWh, o.limitPrice, o.deadline))
        );
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, o.r, o.vs);
        if (err != ECDSA.RecoverError.NoError) revert MalformedSignature(id);
        if (signer != s.owner) revert OrderSignerMismatch(id, signer);
        uint256 liability;
        uint256 value = (matchedWh * price) / WH_PER_KWH;
        if (o.side == SIDE_BID) {
            if (o.energyWh > s.importCapWh) revert EnergyExceedsCap(id, o.energyWh, s.importCapWh);
            if (o.limitPrice < price) revert PriceOutsideLimit(id, o.limitPrice, price);
            liability = value; // pays at most the full value (penalty <= value)
        } else if (o.side == SIDE_ASK) {
            if (o.energyWh > s.exportCapWh) revert EnergyExceedsCap(id, o.energyWh, s.exportCapWh);
            if (o.limitPrice > price) revert PriceOutsideLimit(id, o.limitPrice, price);
            liability = (value * penaltyBps) / BPS; // delivers nothing: pays the penalty
        } else {
            revert InvalidSide(id, o.side);
        }
        if (matchedWh == 0) revert UnmatchedOrder(id);
        if (matchedWh > o.energyWh) revert MatchExceedsOrder(id, matchedWh, o.energyWh);
        uint256 bal = balanceOf(id);
        if (bal < liability) revert InsufficientEscrow(id, liability, bal);
    }

    // ---- settle ------------------------------------------------------------------------
    /// @notice Settles a committed interval after it ended. `sites` and `matches` are the
    /// committed clearing (see ClearingCommitted); readings[k] is site k's signed reading.
    function settle(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        SignedReading[] calldata readings
    ) external {
        uint256 rec = _records[interval];
        if (rec == 0) revert IntervalNotCommitted(interval);
        if (uint8(rec) != STATUS_COMMITTED) revert AlreadySettled(interval);
        {
            uint256 endsAt = intervalStart(interval) + intervalSec;
            if (block.timestamp < endsAt) revert SettlementTooEarly(interval, endsAt);
            if (block.timestamp >= endsAt + settleWindowSec) revert SettlementExpired(interval, endsAt + settleWindowSec);
        }
        bytes32 h = _clearingHash(interval, price, sites, matches);
        if ((uint256(h) ^ rec) >> 64 != 0) revert ClearingMismatch(interval);
        uint256 n = sites.length;
        if (readings.length != n) revert ReadingCountMismatch(readings.length, n);

        // net[k] = exportWh - importWh of site k, as verified from its signed reading
        int256[] memory net = new int256[](n);
        uint256[] memory metas = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            uint256 ref = sites[k];
            SignedReading calldata rd = readings[k];
            uint256 meta = rd.meta;
            _checkReading(ref, meta, rd.r, rd.vs, interval);
            metas[k] = meta;
            net[k] = int256(uint256(uint32(meta))) - int256(uint256(uint32(meta >> 32)));
        }

        (int256[] memory delta, uint256 tradedWh, uint256 settledWh) = _deltas(price, net, matches);
        _applyDeltas(sites, delta);

        bytes32 sh = keccak256(abi.encode(h, keccak256(abi.encodePacked(metas))));
        _records[interval] = ((uint256(sh) >> 64) << 64) | (block.timestamp << 8) | STATUS_SETTLED;
        emit IntervalSettled(interval, sh, tradedWh, settledWh);
    }

    function _checkReading(uint256 ref, uint256 meta, bytes32 r, bytes32 vs, uint64 interval) private view {
        uint32 id = uint32(ref >> 160);
        uint64 readingInterval = uint64(meta >> 64);
        if (readingInterval != interval || meta >> 128 != 0) revert ReadingWrongInterval(id, readingInterval, interval);
        bytes32 structHash;
        bytes32 typeHash = READING_TYPEHASH;
        assembly ("memory-safe") {
            // hashed in scratch memory past the free pointer, which is left untouched
            let p := mload(0x40)
            mstore(p, typeHash)
            mstore(add(p, 0x20), id)
            mstore(add(p, 0x40), interval)
            mstore(add(p, 0x60), and(shr(32, meta), 0xffffffff))
            mstore(add(p, 0x80), and(meta, 0xffffffff))
            structHash := keccak256(p, 0xa0)
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), r, vs);
        if (err != ECDSA.RecoverError.NoError) revert MalformedSignature(id);
        if (signer != address(uint160(ref))) revert ReadingSignerMismatch(id, signer);
    }

    /// Walks the matches in committed order; each side's delivered energy is consumed
    /// match by match: paid = min(traded, seller's remaining export, buyer's remaining
    /// import); each side pays the penalty on its own shortfall to its counterparty.
    function _deltas(uint256 price, int256[] memory net, uint256[] calldata matches)
        private
        view
        returns (int256[] memory delta, uint256 tradedWh, uint256 settledWh)
    {
        uint256 n = net.length;
        delta = new int256[](n);
        uint256[] memory remaining = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            // sellers deliver export, buyers take import; the sign picks the side later
            int256 x = net[k];
            remaining[k] = uint256(x >= 0 ? x : -x);
        }
        uint256 pb = penaltyBps;
        for (uint256 m; m < matches.length; ++m) {
            uint256 w = matches[m];
            uint256 s = (w >> 40) & 0xff;
            uint256 b = (w >> 32) & 0xff;
            uint256 e = uint32(w);
            uint256 sAvail = net[s] > 0 ? _min(e, remaining[s]) : 0;
            uint256 bAvail = net[b] < 0 ? _min(e, remaining[b]) : 0;
            uint256 paid = _min(sAvail, bAvail);
            if (net[s] > 0) remaining[s] -= sAvail;
            if (net[b] < 0) remaining[b] -= bAvail;
            uint256 value = (paid * price) / WH_PER_KWH;
            // seller shortfall penalty goes to the buyer, buyer shortfall penalty to the seller
            uint256 sPenalty = ((e - sAvail) * price * pb) / (WH_PER_KWH * BPS);
            uint256 bPenalty = ((e - bAvail) * price * pb) / (WH_PER_KWH * BPS);
            int256 toSeller = int256(value + bPenalty) - int256(sPenalty);
            delta[s] += toSeller;
            delta[b] -= toSeller;
            tradedWh += e;
            settledWh += paid;
        }
    }

    /// One SLOAD/SSTORE per four neighbouring site ids: `sites` are sorted by id.
    function _applyDeltas(uint256[] calldata sites, int256[] memory delta) private {
        uint256 n = sites.length;
        uint256 slot = type(uint256).max;
        uint256 word;
        for (uint256 k; k < n; ++k) {
            uint32 id = uint32(sites[k] >> 160);
            uint256 idSlot = id >> 2;
            if (idSlot != slot) {
                if (slot != type(uint256).max) _lanes[slot] = word;
                slot = idSlot;
                word = _lanes[slot];
            }
            uint256 shift = (id & 3) * 64;
            int256 bal = int256((word >> shift) & LANE_MASK) + delta[k];
            if (bal < 0) revert InsufficientEscrow(id, uint256(-delta[k]), (word >> shift) & LANE_MASK);
            if (uint256(bal) > LANE_MASK) revert BalanceOverflow(id);
            word = (word & ~(LANE_MASK << shift)) | (uint256(bal) << shift);
        }
        if (slot != type(uint256).max) _lanes[slot] = word;
    }

    // ---- dispute -----------------------------------------------------------------------
    /// @notice Within the dispute window, proves that site `sites[pos]`'s meter key signed a
    /// reading for `interval` that contradicts the one settled. The offender's bond (up to
    /// its balance) moves to the reporter and the offender is deactivated.
    function dispute(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata settledMetas,
        uint256 pos,
        SignedReading calldata contradicting,
        uint32 reporterSiteId
    ) external {
        uint256 rec = _records[interval];
        if (uint8(rec) != STATUS_SETTLED) revert NotSettled(interval);
        uint256 closedAt = ((rec >> 8) & type(uint40).max) + disputeWindowSec;
        if (block.timestamp >= closedAt) revert DisputeWindowClosed(interval, closedAt);
        bytes32 h = _clearingHash(interval, price, sites, matches);
        bytes32 sh = keccak256(abi.encode(h, keccak256(abi.encodePacked(settledMetas))));
        if ((uint256(sh) ^ rec) >> 64 != 0) revert SettlementMismatch(interval);
        if (pos >= sites.length) revert ReadingCountMismatch(pos, sites.length);
        uint256 ref = sites[pos];
        uint32 offender = uint32(ref >> 160);
        if (contradicting.meta == settledMetas[pos]) revert ReadingNotContradicting(offender);
        _checkReading(ref, contradicting.meta, contradicting.r, contradicting.vs, interval);
        _onlyOwner(reporterSiteId);
        if (reporterSiteId == offender) revert SelfDispute(offender);

        uint256 offenderBal = balanceOf(offender);
        uint256 slashed = offenderBal < bond ? offenderBal : bond;
        uint256 reporterBal = balanceOf(reporterSiteId) + slashed;
        if (reporterBal > LANE_MASK) revert BalanceOverflow(reporterSiteId);
        _setBalance(offender, offenderBal - slashed);
        _setBalance(reporterSiteId, reporterBal);
        _sites[offender].active = false;
        _keys[offender].unlockAt = uint40(block.timestamp + _exitDelay());
        _records[interval] = (rec & ~uint256(0xff)) | STATUS_DISPUTED;
        emit Disputed(interval, offender, reporterSiteId, slashed);
    }

    // ---- internals ---------------------------------------------------------------------
    function _clearingHash(uint64 interval, uint64 price, uint256[] memory sites, uint256[] calldata matches)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(interval, price, sites, matches));
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
        uint256 shift = (siteId & 3) * 64;
        uint256 slot = siteId >> 2;
        _lanes[slot] = (_lanes[slot] & ~(LANE_MASK << shift)) | (bal << shift);
    }

    function _exitDelay() private view returns (uint256) {
        // an interval can be committed up to 2 intervals ahead, settled within the settle
        // window after it ends, and disputed within the dispute window after that
        return 3 * intervalSec + settleWindowSec + disputeWindowSec;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
