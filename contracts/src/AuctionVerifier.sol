// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// What the verifier reads of, and sets in, its market.
interface IClearedMarket {
    struct Site {
        address owner;
        uint32 importCapWh;
        uint32 exportCapWh;
        bool active;
    }

    function clearingRecord(uint64 interval) external view returns (uint256);
    function site(uint32 siteId) external view returns (Site memory, address meterKey);
    function setOperatorBonded(bool bonded) external;
    function signatureRecord(uint64 interval) external view returns (uint256 orders, uint256 readings);
    function domainSeparator() external view returns (bytes32);
    function penaltyBps() external view returns (uint256);
    function resettle(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata metas,
        uint256 readingsHash
    ) external returns (uint256[] memory releases);
}

/// @title The operator's bond and the fraud proof of a clearing (issue 14, attack 8).
/// @notice The market's operator commits each interval's clearing; the commit binds every
/// order it includes, matched or not (each site ref carries its order's side, energy and
/// limit, and the clearing hash covers the refs). Anyone may prove here, within the dispute
/// window, that a committed clearing is not the deterministic auction of its committed
/// orders (core/market/clearAuction.ts: bids by limit descending, asks by limit ascending,
/// ties by site id ascending, the best remaining pair trades min(remaining) while bid >= ask,
/// uniform price floor((b + a) / 2) of the last matched pair; orders of 0 Wh take no part).
/// A proven clearing slashes the operator's bond, posted here: each site is paid, out of the
/// bond, what the auction would have given it beyond what the committed clearing gave it
/// (surplus at its own limit price: (price - limit) * Wh for a seller, (limit - price) * Wh
/// for a buyer, / 1000), pro rata when the bond is short; then the reporter gets up to the
/// market's site bond. The trades and their settlement stand. Until the bond is whole again
/// the market refuses the operator's commits. The market creates this contract; it lives
/// apart so the market's runtime stays under EIP-170.
contract AuctionVerifier {
    using SafeERC20 for IERC20;

    uint256 private constant STATUS_COMMITTED = 1;
    uint256 private constant STATUS_SETTLED = 2;
    uint256 private constant MAX_ORDERS = 64;
    /// The reporter's commitment is keccak256(abi.encode(sender, interval, PROOF_TAG)).
    bytes32 public constant PROOF_TAG = keccak256("GridMesh clearing proof");
    /// the market's EIP-712 types (EnergyMarket.ORDER_TYPEHASH, READING_TYPEHASH)
    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(uint32 siteId,uint64 interval,uint8 side,uint32 energyWh,uint64 limitPrice,uint64 deadline)"
    );
    bytes32 private constant READING_TYPEHASH =
        keccak256("MeterReading(uint32 siteId,uint64 interval,uint32 importWh,uint32 exportWh)");
    uint256 private constant ABSENT = 1 << 255;

    IClearedMarket public immutable market;
    IERC20 public immutable token;
    address public immutable operator;
    uint256 public immutable unit;
    /// what the operator must keep posted to commit
    uint256 public immutable required;
    /// the most a reporter is paid (the market's site bond)
    uint256 public immutable reward;
    uint256 public immutable genesis;
    uint256 public immutable intervalSec;
    uint256 public immutable disputeWindowSec;
    /// how long a leaving operator's bond stays: the commit look-ahead, the settle and dispute windows
    uint256 public immutable exitDelay;

    /// the operator's posted bond, in market units
    uint256 public bondOf;
    /// when a requested withdrawal may be paid (0: none requested)
    uint256 public exitAt;
    /// [interval] = a proof of its clearing was accepted
    mapping(uint64 => bool) public proven;
    /// [interval] = a forged order of its step was proven (proveOrderForgery)
    mapping(uint64 => bool) public ordersProven;
    /// [commitment] = the block it was first made in
    mapping(bytes32 => uint256) private _commits;

    error NotOperator(address caller);
    error NotMarket(address caller);
    error ZeroAmount();
    error TooManyOrders(uint256 count, uint256 max);
    error ProofNotCommitted();
    error AlreadyProven(uint64 interval);
    error ClearingNotFound(uint64 interval);
    error ClearingMismatch(uint64 interval);
    error ProofWindowClosed(uint64 interval, uint256 closedAt);
    error ClearingIsTheAuctions(uint64 interval);
    error BondLocked(uint256 exitAt);
    error SignaturesMismatch(uint64 interval);
    error NothingForged(uint64 interval);
    error ReadingNotFixed(uint32 siteId);
    error NotSettled(uint64 interval);

    event OperatorBondPosted(address indexed from, uint256 amount, uint256 bond);
    event OperatorBondLeaving(uint256 exitAt);
    event OperatorBondWithdrawn(uint256 amount);
    /// `compensated` in market units, paid to the sites' owners; `rewarded` to `reporter`
    event ClearingProven(uint64 indexed interval, address indexed reporter, uint256 compensated, uint256 rewarded);
    event SiteCompensated(uint64 indexed interval, uint32 indexed siteId, uint256 amount);
    /// A step's signed order or reading was proven forged: `forged` sites, `compensated` units
    /// paid to their owners out of the operator's bond.
    event ForgeryProven(uint64 indexed interval, bool readings, uint256 forged, uint256 compensated);
    /// A step's releases were proven not to be the settlement of its readings: `wrong` release
    /// words, `compensated` units paid to the owners of the sites they shorted, out of the
    /// operator's bond.
    event SettlementProven(uint64 indexed interval, uint256 wrong, uint256 compensated);

    struct Params {
        IERC20 token;
        address operator;
        uint256 unit;
        uint256 required;
        uint256 reward;
        uint256 genesis;
        uint256 intervalSec;
        uint256 settleWindowSec;
        uint256 disputeWindowSec;
    }

    /// Created by the market (msg.sender).
    constructor(Params memory p) {
        market = IClearedMarket(msg.sender);
        token = p.token;
        operator = p.operator;
        unit = p.unit;
        required = p.required;
        reward = p.reward;
        genesis = p.genesis;
        intervalSec = p.intervalSec;
        disputeWindowSec = p.disputeWindowSec;
        exitDelay = 3 * p.intervalSec + p.settleWindowSec + p.disputeWindowSec;
    }

    // ---- the operator's bond ---------------------------------------------------------------
    /// @notice Posts `amount` units to the operator's bond (anyone may; usually the operator
    /// at opening). The operator's own deposit cancels its requested withdrawal (anyone
    /// else's does not, so nobody can keep its bond locked by depositing a unit); the market
    /// takes commits again once the bond is whole and no withdrawal is pending.
    function depositBond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount * unit);
        bondOf += amount;
        if (msg.sender == operator) exitAt = 0;
        emit OperatorBondPosted(msg.sender, amount, bondOf);
        if (bondOf >= required && exitAt == 0) market.setOperatorBonded(true);
    }

    /// @notice The operator stops committing at once and may withdraw its bond after every
    /// interval it could have committed is past its dispute window (exitDelay).
    function requestBondWithdrawal() external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        exitAt = block.timestamp + exitDelay;
        market.setOperatorBonded(false);
        emit OperatorBondLeaving(exitAt);
    }

    function withdrawBond(uint256 amount) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (exitAt == 0 || block.timestamp < exitAt) revert BondLocked(exitAt);
        bondOf -= amount;
        emit OperatorBondWithdrawn(amount);
        token.safeTransfer(operator, amount * unit);
    }

    // ---- the auction -----------------------------------------------------------------------
    /// @notice The deterministic auction of committed site refs (siteId << 160 | limitPrice << 96
    /// | energyWh << 192 | side << 224 | meter tag, ascending by site id, as the clearing hash
    /// binds them): its price (0 without trades) and its matches as commit takes them
    /// (sellerPos << 40 | buyerPos << 32 | energyWh, positions into `refs`).
    function auction(uint256[] calldata refs) public pure returns (uint64 price, uint256[] memory matches) {
        uint256 n = refs.length;
        if (n > MAX_ORDERS) revert TooManyOrders(n, MAX_ORDERS);
        // sort keys: a bid's (2^64 - 1 - limit) << 8 | pos, an ask's limit << 8 | pos, both
        // ascending: limit descending (bids) or ascending (asks), then site id ascending
        // (positions follow site ids)
        uint256[] memory bids = new uint256[](n);
        uint256[] memory asks = new uint256[](n);
        uint256 nb;
        uint256 na;
        for (uint256 k; k < n; ++k) {
            uint256 r = refs[k];
            if (uint32(r >> 192) == 0) continue; // 0 Wh: nothing to trade
            uint256 limit = uint64(r >> 96);
            if ((r >> 224) & 1 == 1) na = _insert(asks, na, (limit << 8) | k);
            else nb = _insert(bids, nb, ((type(uint64).max - limit) << 8) | k);
        }
        matches = new uint256[](nb + na);
        uint256 count;
        uint256 bi;
        uint256 ai;
        uint256 bidLeft = nb > 0 ? uint32(refs[bids[0] & 0xff] >> 192) : 0;
        uint256 askLeft = na > 0 ? uint32(refs[asks[0] & 0xff] >> 192) : 0;
        while (bi < nb && ai < na) {
            uint256 bp = bids[bi] & 0xff;
            uint256 sp = asks[ai] & 0xff;
            uint256 bidLimit = uint64(refs[bp] >> 96);
            uint256 askLimit = uint64(refs[sp] >> 96);
            if (bidLimit < askLimit) break;
            uint256 e = bidLeft < askLeft ? bidLeft : askLeft;
            matches[count++] = (sp << 40) | (bp << 32) | e;
            price = uint64((bidLimit + askLimit) / 2);
            bidLeft -= e;
            askLeft -= e;
            if (bidLeft == 0 && ++bi < nb) bidLeft = uint32(refs[bids[bi] & 0xff] >> 192);
            if (askLeft == 0 && ++ai < na) askLeft = uint32(refs[asks[ai] & 0xff] >> 192);
        }
        assembly ("memory-safe") {
            mstore(matches, count)
        }
    }

    /// Insertion into the ascending prefix a[0..len); returns the new length (n <= 64).
    function _insert(uint256[] memory a, uint256 len, uint256 key) private pure returns (uint256) {
        uint256 i = len;
        while (i > 0 && a[i - 1] > key) {
            a[i] = a[i - 1];
            --i;
        }
        a[i] = key;
        return len + 1;
    }

    // ---- the proof -------------------------------------------------------------------------
    /// @notice The first half of a proof: keccak256(abi.encode(sender, interval, PROOF_TAG)) from
    /// an earlier block than proveClearing, so a copy of a revealed proof (the committed
    /// clearing is public) sent by someone without its own earlier commitment is refused.
    function commitProof(bytes32 commitment) external {
        if (_commits[commitment] == 0) _commits[commitment] = block.number;
    }

    /// @notice Proves that `interval`'s committed clearing (interval, price, sites, matches as
    /// settle takes them) is not the auction of its committed orders. While the interval is
    /// committed `metasHash` and `releasesHash` are ignored; once settled they are the
    /// settlement's (keccak256 of the packed reading metas and of the packed releases: see
    /// EnergyMarket.dispute) and the proof is accepted until its dispute window closes.
    function proveClearing(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        bytes32 metasHash,
        bytes32 releasesHash
    ) external {
        {
            uint256 at = _commits[keccak256(abi.encode(msg.sender, interval, PROOF_TAG))];
            if (at == 0 || at >= block.number) revert ProofNotCommitted();
        }
        if (proven[interval]) revert AlreadyProven(interval);
        _checkCommitted(interval, price, sites, matches, metasHash, releasesHash);
        (uint64 aPrice, uint256[] memory aMatches) = auction(sites);
        if (_same(price, matches, aPrice, aMatches)) revert ClearingIsTheAuctions(interval);
        proven[interval] = true;

        // what each site lost against the auction, at its own limit price
        uint256[] memory owed = _surplus(sites, aMatches, aPrice);
        uint256[] memory got = _surplus(sites, _copy(matches), price);
        for (uint256 k; k < owed.length; ++k) {
            owed[k] = owed[k] > got[k] ? (owed[k] - got[k]) / 1000 : 0;
        }
        uint256 paid = _compensate(interval, sites, owed);
        uint256 rewarded = bondOf < reward ? bondOf : reward;
        bondOf -= rewarded;
        if (bondOf < required) market.setOperatorBonded(false);
        emit ClearingProven(interval, msg.sender, paid, rewarded);
        if (rewarded != 0) token.safeTransfer(msg.sender, rewarded * unit);
    }

    /// Pays owed[k] units to the owner of the site at sites[k] out of the operator's bond, pro
    /// rata when the bond is short; returns what was paid (bondOf is reduced by it).
    function _compensate(uint64 interval, uint256[] calldata sites, uint256[] memory owed) private returns (uint256 paid) {
        uint256 total;
        for (uint256 k; k < owed.length; ++k) {
            total += owed[k];
        }
        uint256 available = bondOf;
        for (uint256 k; k < owed.length; ++k) {
            uint256 amount = total > available ? (owed[k] * available) / total : owed[k];
            if (amount == 0) continue;
            paid += amount;
            uint32 id = uint32(sites[k] >> 160);
            (IClearedMarket.Site memory s,) = market.site(id);
            emit SiteCompensated(interval, id, amount);
            token.safeTransfer(s.owner, amount * unit);
        }
        bondOf = available - paid;
        if (bondOf < required) market.setOperatorBonded(false);
    }

    // ---- forgery proofs (a step's unchecked signatures) --------------------------------------
    /// @notice Proves that a step committed an order its site's owner did not sign (a step
    /// checks no signature: EnergyMarket._orderSigs). `orders` are the step's orders as it sent
    /// them, four words each: meta, r, vs and the owner key's tag (low 96 bits of
    /// keccak256(owner)) at the commit; the clearing and hashes as for proveClearing (accepted
    /// until the settlement's dispute window closes). Each site whose order is not its owner's
    /// signature is paid, out of the operator's bond, its lock (the most the interval can
    /// take from it) plus one site bond; the trades and their settlement stand. Once per
    /// interval; the payment goes to the sites' owners whoever proves it, so a copied proof
    /// gains its sender nothing.
    function proveOrderForgery(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        bytes32 metasHash,
        bytes32 releasesHash,
        uint256[] calldata orders
    ) external {
        if (ordersProven[interval]) revert AlreadyProven(interval);
        _checkCommitted(interval, price, sites, matches, metasHash, releasesHash);
        (uint256 bound,) = market.signatureRecord(interval);
        uint256 n = sites.length;
        if (orders.length != 4 * n || _chain(orders) != bound) revert SignaturesMismatch(interval);
        uint256[] memory owed = new uint256[](n);
        uint256 forged;
        for (uint256 k; k < n; ++k) {
            uint256 meta = orders[4 * k];
            if (uint32(meta >> 168) != interval || uint32(meta >> 200) != uint32(sites[k] >> 160)) {
                revert SignaturesMismatch(interval);
            }
            bytes32 structHash = keccak256(
                abi.encode(ORDER_TYPEHASH, meta >> 200, interval, uint8(meta >> 160), uint32(meta >> 128), uint64(meta >> 64), uint64(meta))
            );
            if (_signedBy(structHash, bytes32(orders[4 * k + 1]), bytes32(orders[4 * k + 2]), orders[4 * k + 3])) continue;
            owed[k] = reward;
            ++forged;
        }
        if (forged == 0) revert NothingForged(interval);
        ordersProven[interval] = true;
        // a forged site's lock, as the market took it (EnergyMarket._liability)
        uint256 pb = market.penaltyBps();
        uint256 buyerBps = pb < 10_000 ? 10_000 : pb;
        for (uint256 m; m < matches.length; ++m) {
            uint256 w = matches[m];
            uint256 sp = (w >> 40) & 0xff;
            uint256 bp = (w >> 32) & 0xff;
            uint256 e = uint32(w);
            if (owed[sp] != 0) owed[sp] += (e * price * pb) / 10_000_000;
            if (owed[bp] != 0) owed[bp] += (e * price * (10_000 + buyerBps)) / 10_000_000;
        }
        emit ForgeryProven(interval, false, forged, _compensate(interval, sites, owed));
    }

    /// @notice Proves that a step settled `interval` with a reading its site's meter did not sign
    /// (EnergyMarket._readingSigs), within the settlement's dispute window. `stepped` are the
    /// step's readings as it sent them (meta, r, vs per site), or as the last proof of this
    /// interval left them; `fixed` the same with one or more forged ones replaced by that
    /// site's meter-signed reading (the site has it, and every peer it published to; only its
    /// meter can sign one, so the prover has no choice). Every other reading stays word for
    /// word, a forged one too (ReadingNotFixed otherwise): a forged reading nobody holds the
    /// fix for does not block the others'. The market settles the interval again with the
    /// fixed readings (EnergyMarket.resettle, which binds them for the next proof) and each
    /// site whose reading was fixed is paid one site bond out of the operator's bond, whoever
    /// proves it.
    function proveReadingForgery(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata stepped,
        bytes32 releasesHash,
        uint256[] calldata fixed_
    ) external {
        uint256 n = sites.length;
        if (stepped.length != 3 * n || fixed_.length != 3 * n) revert SignaturesMismatch(interval);
        uint256[] memory metas = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            metas[k] = stepped[3 * k];
        }
        if (uint8(market.clearingRecord(interval)) != STATUS_SETTLED) revert NotSettled(interval);
        _checkCommitted(interval, price, sites, matches, keccak256(abi.encodePacked(metas)), releasesHash);
        (, uint256 bound) = market.signatureRecord(interval);
        if (uint256(keccak256(abi.encodePacked(stepped))) != bound) revert SignaturesMismatch(interval);
        uint256[] memory owed = new uint256[](n);
        uint256 forged;
        for (uint256 k; k < n; ++k) {
            uint256 ref = sites[k];
            // unchanged, all three words: an honest reading, or a forged one left for a later
            // proof by whoever holds its meter's reading (a site offline at settlement must not
            // shield the others' forged readings); the binding keeps it, so a later proof sees it
            if (fixed_[3 * k] == stepped[3 * k] && fixed_[3 * k + 1] == stepped[3 * k + 1] && fixed_[3 * k + 2] == stepped[3 * k + 2]) {
                continue;
            }
            // changed: only a forged reading, and only for its meter's own signed reading
            if (
                metas[k] == ABSENT || _readingSigned(ref, interval, stepped[3 * k:3 * k + 3])
                    || !_readingSigned(ref, interval, fixed_[3 * k:3 * k + 3])
            ) revert ReadingNotFixed(uint32(ref >> 160));
            metas[k] = fixed_[3 * k];
            owed[k] = reward;
            ++forged;
        }
        if (forged == 0) revert NothingForged(interval);
        market.resettle(interval, price, sites, matches, metas, uint256(keccak256(abi.encodePacked(fixed_))));
        emit ForgeryProven(interval, true, forged, _compensate(interval, sites, owed));
    }

    /// @notice Proves that a step settled `interval` with releases that are not the settlement
    /// of its readings (EnergyMarket._settleStep binds the operator's releases unchecked).
    /// `stepped`: the readings as bound now (meta, r, vs each: the step's, or the last
    /// proveReadingForgery's `fixed_`); `releases`: the releases as bound (the step's, or
    /// nothing changed them since: a re-settlement writes the right ones). The market
    /// settles the interval again from the same readings (EnergyMarket.resettle, the
    /// standalone settle's arithmetic), so the interval finalizes with the right releases.
    /// Each site the bound releases shorted (a lower amount than its settlement's, or a word
    /// naming another site) is paid one site bond out of the operator's bond, whoever proves
    /// it; a site credited too much is only corrected. NothingForged when every release was
    /// right.
    function proveSettlement(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        uint256[] calldata stepped,
        uint256[] calldata releases
    ) external {
        uint256 n = sites.length;
        if (stepped.length != 3 * n || releases.length != n) revert SignaturesMismatch(interval);
        uint256[] memory metas = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            metas[k] = stepped[3 * k];
        }
        if (uint8(market.clearingRecord(interval)) != STATUS_SETTLED) revert NotSettled(interval);
        _checkCommitted(interval, price, sites, matches, keccak256(abi.encodePacked(metas)), keccak256(abi.encodePacked(releases)));
        (, uint256 bound) = market.signatureRecord(interval);
        if (uint256(keccak256(abi.encodePacked(stepped))) != bound) revert SignaturesMismatch(interval);
        uint256[] memory right = market.resettle(interval, price, sites, matches, metas, bound);
        uint256[] memory owed = new uint256[](n);
        uint256 wrong;
        for (uint256 k; k < n; ++k) {
            if (right[k] == releases[k]) continue;
            ++wrong;
            // short: credited less than its settlement, or another site credited in its place
            if (releases[k] >> 64 != right[k] >> 64 || uint64(releases[k]) < uint64(right[k])) owed[k] = reward;
        }
        if (wrong == 0) revert NothingForged(interval);
        emit SettlementProven(interval, wrong, _compensate(interval, sites, owed));
    }

    /// keccak256 chained over the orders' four words, from 0 (EnergyMarket._checkOrders, a step).
    function _chain(uint256[] calldata orders) private pure returns (uint256 acc) {
        for (uint256 k; k < orders.length; k += 4) {
            acc = uint256(keccak256(abi.encode(acc, orders[k], orders[k + 1], orders[k + 2], orders[k + 3])));
        }
    }

    /// Whether `r, vs` is a valid (low-s) signature of the market's EIP-712 `structHash` by a key
    /// whose tag (low 96 bits of keccak256(address)) is `tag`'s low 96 bits.
    function _signedBy(bytes32 structHash, bytes32 r, bytes32 vs, uint256 tag) private view returns (bool) {
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", market.domainSeparator(), structHash));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, r, vs);
        return err == ECDSA.RecoverError.NoError && uint96(uint256(keccak256(abi.encodePacked(signer)))) == uint96(tag);
    }

    /// Whether `rd` (meta, r, vs) is this interval's reading signed by the meter key the site
    /// ref `ref` snapshotted at commit.
    function _readingSigned(uint256 ref, uint64 interval, uint256[] calldata rd) private view returns (bool) {
        uint256 meta = rd[0];
        if (meta >> 64 != interval) return false;
        bytes32 structHash = keccak256(abi.encode(READING_TYPEHASH, uint32(ref >> 160), interval, uint32(meta >> 32), uint32(meta)));
        return _signedBy(structHash, bytes32(rd[1]), bytes32(rd[2]), ref);
    }

    /// The clearing must be the one the market holds for `interval`, and still disputable.
    function _checkCommitted(
        uint64 interval,
        uint64 price,
        uint256[] calldata sites,
        uint256[] calldata matches,
        bytes32 metasHash,
        bytes32 releasesHash
    ) private view {
        uint256 rec = market.clearingRecord(interval);
        uint256 status = uint8(rec);
        if (uint32(rec >> 32) != interval || (status != STATUS_COMMITTED && status != STATUS_SETTLED)) {
            revert ClearingNotFound(interval);
        }
        bytes32 h = keccak256(abi.encode(interval, price, sites, matches));
        if (status == STATUS_SETTLED) {
            uint256 closedAt = genesis + (uint256(interval) + 1) * intervalSec + ((rec >> 8) & 0xffffff) + disputeWindowSec;
            if (block.timestamp >= closedAt) revert ProofWindowClosed(interval, closedAt);
            h = keccak256(abi.encode(keccak256(abi.encode(h, metasHash)), releasesHash));
        }
        if ((uint256(h) ^ rec) >> 64 != 0) revert ClearingMismatch(interval);
    }

    function _same(uint64 price, uint256[] calldata matches, uint64 aPrice, uint256[] memory aMatches)
        private
        pure
        returns (bool)
    {
        if (matches.length != aMatches.length) return false;
        if (matches.length != 0 && price != aPrice) return false;
        for (uint256 m; m < matches.length; ++m) {
            if (matches[m] != aMatches[m]) return false;
        }
        return true;
    }

    function _copy(uint256[] calldata a) private pure returns (uint256[] memory b) {
        b = a;
    }

    /// Per position, the surplus of `matches` at `price` (units * 1000): a seller's
    /// (price - limit) * Wh, a buyer's (limit - price) * Wh. A committed clearing has every
    /// matched bid >= price >= every matched ask (the market checks it), as has the auction.
    function _surplus(uint256[] calldata sites, uint256[] memory matches, uint256 price)
        private
        pure
        returns (uint256[] memory s)
    {
        s = new uint256[](sites.length);
        for (uint256 m; m < matches.length; ++m) {
            uint256 w = matches[m];
            uint256 sp = (w >> 40) & 0xff;
            uint256 bp = (w >> 32) & 0xff;
            uint256 e = uint32(w);
            s[sp] += (price - uint64(sites[sp] >> 96)) * e;
            s[bp] += (uint64(sites[bp] >> 96) - price) * e;
        }
    }
}
