"""The messages of govkit's error codes, in English and Chinese (private).

:func:`govkit.errors.render_message` and :func:`govkit.errors.message_for` read this
catalogue; nothing else does. It is data only: no function here reads the environment.

Each entry is keyed by an error code, or by ``code#reason`` for one ``reason`` an error's
context names, and holds variants ``(English, Chinese)``, the most specific first. A
variant's ``{placeholders}`` name context attributes of the error (identifiers only:
a field name, a key id, a count, never personal data); the first variant whose
placeholders are all present in the context is used, so the last variant of every
code has none. Both languages of a variant name the same placeholders (a test checks).

The Chinese wording is the one of the field: 电子证照 (electronic licence), 吊销
(revoked), 暂停 (suspended), 有效期 (validity period), 签发机关 (issuing authority),
信任列表 (trust list), 状态列表 (status list), 身份令牌 (identity token), 审计日志
(audit log), 回调 (callback), 签名 (signature), 检查点 (checkpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["DETAILS", "LANGUAGES", "MESSAGES"]

#: The languages every message exists in.
LANGUAGES: Final = ("en", "zh")

_Variants = tuple[tuple[str, str], ...]

_STORE_LOCKED = ("stays locked by another writer; try again", "被其他写入方锁定，请稍后重试")
_STORE_SCHEMA = (
    "has a schema of another version (newer than this release, or older: govkit db upgrade)",
    "的结构版本不符（比本版本新，或较旧需要升级：govkit db upgrade）",
)


def _store(what_en: str, what_zh: str) -> dict[str, _Variants]:
    """The three messages of a component's store: failed, locked, schema."""
    return {
        "": (
            (f"the {what_en} failed or holds data govkit cannot read", f"{what_zh}出错或无法读取"),
        ),
        "_locked": ((f"the {what_en} {_STORE_LOCKED[0]}", f"{what_zh}{_STORE_LOCKED[1]}"),),
        "_schema": ((f"the {what_en} {_STORE_SCHEMA[0]}", f"{what_zh}{_STORE_SCHEMA[1]}"),),
    }


def _stores() -> dict[str, _Variants]:
    found: dict[str, _Variants] = {}
    for prefix, en, zh in (
        ("audit.store", "audit log's store", "审计日志存储"),
        ("identity.store", "identity store (replay or revocation)", "身份存储（重放或撤销记录）"),
        ("payment.store", "payment inbox's store", "支付收件箱存储"),
    ):
        for suffix, variants in _store(en, zh).items():
            found[prefix + suffix] = variants
    return found


_LICENCE_FIELD: Final[dict[str, _Variants]] = {
    "certificate.data_invalid#missing": (
        ("licence field '{field}' is missing", "缺少证照字段“{field}”"),
        ("a required licence field is missing", "缺少必需的证照字段"),
    ),
    "certificate.data_invalid#unknown": (
        ("the licence type has no field '{field}'", "该证照类型没有字段“{field}”"),
        ("the licence type has no such field", "该证照类型没有此字段"),
    ),
    "certificate.data_invalid#kind": (
        ("licence field '{field}' has the wrong kind of value", "证照字段“{field}”的值类型错误"),
    ),
    "certificate.data_invalid#length": (
        (
            "licence field '{field}' is empty, too long or holds control characters",
            "证照字段“{field}”为空、过长或含有控制字符",
        ),
    ),
    "certificate.data_invalid#choice": (
        (
            "licence field '{field}' must be one of: {choices}",
            "证照字段“{field}”必须是以下之一：{choices}",
        ),
        (
            "licence field '{field}' is not one of its allowed values",
            "证照字段“{field}”不是允许的取值",
        ),
    ),
    "certificate.data_invalid#date": (
        (
            "licence field '{field}' is not a valid YYYY-MM-DD date",
            "证照字段“{field}”不是有效日期（YYYY-MM-DD）",
        ),
    ),
    "certificate.data_invalid#range": (
        ("licence field '{field}' is out of range", "证照字段“{field}”超出范围"),
    ),
    "certificate.data_invalid#unknown_type": (
        (
            "unknown licence type '{given}' (did you mean {suggestions}?); "
            "the valid types are {valid_types}",
            "未知的证照类型“{given}”（是否为 {suggestions}？）；有效类型：{valid_types}",
        ),
        (
            "unknown licence type '{given}'; the valid types are {valid_types}",
            "未知的证照类型“{given}”；有效类型：{valid_types}",
        ),
        (
            "unknown licence type; the valid types are {valid_types}",
            "未知的证照类型；有效类型：{valid_types}",
        ),
        ("unknown licence type", "未知的证照类型"),
    ),
    "certificate.data_invalid#max_validity": (
        (
            "the validity period is longer than the licence type allows",
            "有效期超过该证照类型允许的最长期限",
        ),
    ),
    "certificate.data_invalid#raw_id": (
        (
            "this licence may not name its holder by raw ID number",
            "此证照不得以身份证号码标识持证人",
        ),
    ),
    "certificate.data_invalid": (
        ("licence field '{field}' is not valid", "证照字段“{field}”无效"),
        ("the licence data does not fit its type", "证照数据无效：不符合其类型的要求"),
    ),
}

_CORE: Final[dict[str, _Variants]] = {
    "govkit.error": (("govkit reported an error", "govkit 报告了错误"),),
    "verification.failed": (("the artifact is not genuine", "验证未通过：内容不真实或已被篡改"),),
    "config.invalid": (
        ("argument '{argument}' cannot work as given", "参数“{argument}”的取值无法使用"),
        ("the configuration cannot work", "配置无效，无法使用"),
    ),
    "verifier.anchor_conflict": (
        (
            "the trust anchors given are not the ones this device's verifier state trusts",
            "所给的信任锚与本设备验证状态所信任的不一致",
        ),
    ),
    "encoding.malformed": (("the data is not in the expected encoding", "数据编码格式不正确"),),
    "clock.error": (("a time could not be handled", "时间处理出错"),),
    "clock.naive_datetime": (("a time was given without a time zone", "时间缺少时区信息"),),
    "clock.behind": (
        (
            "this device's clock is behind a time it has already seen signed: set the clock",
            "本设备时钟早于已见过的签名时间：请校准设备时钟",
        ),
    ),
    "store.error": (
        (
            "the store (database) failed or holds data govkit cannot use",
            "存储（数据库）出错或数据无法使用",
        ),
    ),
    "store.locked": ((f"the store {_STORE_LOCKED[0]}", f"存储{_STORE_LOCKED[1]}"),),
    "store.schema": ((f"the store {_STORE_SCHEMA[0]}", f"存储{_STORE_SCHEMA[1]}"),),
    "store.full": (
        (
            "the in-memory store is full ({max_entries} live entries)",
            "内存存储已满（{max_entries} 个有效条目）",
        ),
        ("the in-memory store is full", "内存存储已满"),
    ),
    "store.damaged": (
        ("a stored entry fails its integrity check", "存储中的条目未通过完整性校验"),
    ),
    "store.flow_invalid": (("the flow handle is not usable", "流程标识不可用"),),
    "store.flow_unknown": (("no flow was started with this handle", "没有以此标识开始的流程"),),
    "store.flow_expired": (("the flow expired before it was finished", "流程在完成前已过期"),),
    "store.flow_taken": (("the flow handle was already used", "流程标识已被使用过"),),
}

_KEYS: Final[dict[str, _Variants]] = {
    "key.error": (("a key could not be used", "密钥无法使用"),),
    "key.unsupported_algorithm": (
        ("algorithm {alg} is not allowed", "不允许使用算法 {alg}"),
        ("the algorithm is not allowed", "不允许使用该算法"),
    ),
    "key.algorithm_unavailable": (
        (
            "algorithm {alg} needs the optional extra govkit[{extra}]",
            "算法 {alg} 需要安装可选组件 govkit[{extra}]",
        ),
        ("the algorithm needs an optional extra that is not installed", "该算法需要安装可选组件"),
    ),
    "key.too_weak": (
        ("the key is too weak ({bits} bits)", "密钥强度不足（{bits} 位）"),
        ("the key is too weak", "密钥强度不足"),
    ),
    "key.alg_mismatch": (
        ("the key is for {key_alg}, not {alg}", "该密钥用于 {key_alg}，而不是 {alg}"),
        ("the key does not match the algorithm", "密钥与算法不匹配"),
    ),
    "key.invalid": (("the key data is malformed or unusable", "密钥数据格式错误或无法使用"),),
    "key.password": (("the private key's password is missing or wrong", "私钥密码缺失或错误"),),
    "key.no_active_key": (
        ("the key ring has no active signing key", "密钥环中没有可用的签名密钥"),
    ),
    "key.invalid_signature": (("the signature does not verify", "签名验证失败"),),
    "key.unknown_kid": (
        ("no key has key id {kid}", "没有密钥标识为 {kid} 的密钥"),
        ("no key with that key id is known", "未知的密钥标识"),
    ),
    "key.not_valid_at": (
        ("the key is not valid at the time of verification", "验证时间不在该密钥的有效期内"),
    ),
}

_AUDIT: Final[dict[str, _Variants]] = {
    "audit.error": (("the audit log reported an error", "审计日志出错"),),
    "audit.event_invalid": (
        ("audit event field '{field}' is not valid", "审计事件字段“{field}”无效"),
        ("the audit event is malformed", "审计事件格式错误"),
    ),
    "audit.subject_erased": (
        ("the personal data asked for has been erased", "所请求的个人数据已被删除"),
    ),
    "audit.verification_failed": (("the audit log does not verify", "审计日志验证失败"),),
    "audit.invalid_proof": (("the Merkle proof does not verify", "默克尔证明验证失败"),),
    "audit.leaf_mismatch": (
        (
            "audit log entry {index} no longer hashes to its leaf: the log was changed",
            "审计日志第 {index} 条与其叶子哈希不符：日志已被改动",
        ),
        (
            "an audit log entry no longer hashes to its leaf: the log was changed",
            "审计日志条目与其叶子哈希不符：日志已被改动",
        ),
    ),
    "audit.index_mismatch": (
        (
            "the query columns of entry {index} disagree with the entry",
            "第 {index} 条的查询列与条目内容不一致",
        ),
        ("a stored query column disagrees with its entry", "存储的查询列与条目内容不一致"),
    ),
    "audit.node_mismatch": (
        ("a stored Merkle node is missing or wrong", "存储的默克尔节点缺失或错误"),
    ),
    "audit.root_mismatch": (
        ("the log's tree does not have the checkpoint's root", "日志计算出的根哈希与检查点不一致"),
    ),
    "audit.truncated": (
        (
            "the audit log holds {size} entries but a checkpoint committed to "
            "{checkpoint_size}: entries were removed",
            "审计日志只有 {size} 条，但检查点记录了 {checkpoint_size} 条：有条目被删除",
        ),
        (
            "the audit log holds fewer entries than a checkpoint committed to: "
            "entries were removed",
            "审计日志的条目少于检查点记录的数量：有条目被删除",
        ),
    ),
    "audit.gap": (
        (
            "audit log entry indexes are not dense at {index}: an entry was deleted or moved",
            "审计日志条目编号在 {index} 处不连续：有条目被删除或移动",
        ),
        (
            "audit log entry indexes are not dense: an entry was deleted or moved",
            "审计日志条目编号不连续：有条目被删除或移动",
        ),
    ),
    "audit.inconsistent": (
        (
            "two checkpoints of the log are not consistent: history was rewritten",
            "同一日志的两个检查点不一致：历史记录被改写",
        ),
    ),
    "audit.checkpoint_malformed": (
        ("line {line} of the checkpoint is malformed", "检查点第 {line} 行格式错误"),
        ("the checkpoint is malformed", "检查点格式错误"),
    ),
    "audit.checkpoint_signature": (
        ("no trusted key signed the checkpoint", "检查点没有受信任密钥的有效签名"),
    ),
}

_IDENTITY: Final[dict[str, _Variants]] = {
    "identity.error": (("the identity component reported an error", "身份模块出错"),),
    "identifier.invalid": (
        (
            "the resident ID number or unified social credit code is not valid",
            "居民身份证号码或统一社会信用代码无效",
        ),
    ),
    "token.claim_not_allowed": (
        ("the issuer refuses claim '{claim}'", "签发方拒绝声明“{claim}”"),
        ("the issuer refuses this claim", "签发方拒绝该声明"),
    ),
    "jwks.unavailable": (
        ("the key set (JWKS) could not be fetched or read", "无法获取或读取密钥集（JWKS）"),
    ),
    "token.invalid": (("the identity token is not valid", "身份令牌无效"),),
    "token.malformed": (("the identity token is malformed", "身份令牌格式错误"),),
    "token.too_large": (
        (
            "the identity token is too large ({size} bytes, at most {limit})",
            "身份令牌过大（{size} 字节，上限 {limit}）",
        ),
        ("the identity token is too large", "身份令牌过大"),
    ),
    "token.wrong_type": (
        ("the identity token's type (typ) is not the one required", "身份令牌的类型（typ）不符"),
    ),
    "token.algorithm": (
        (
            "the identity token's signature algorithm {alg} is not accepted",
            "身份令牌的签名算法 {alg} 不被接受",
        ),
        ("the identity token's signature algorithm is not accepted", "身份令牌的签名算法不被接受"),
    ),
    "token.forbidden_header": (
        (
            "the identity token's header names a key source ({header}) that is never used",
            "身份令牌头部指定了不允许的密钥来源（{header}）",
        ),
        (
            "the identity token's header names a key source that is never used",
            "身份令牌头部指定了不允许的密钥来源",
        ),
    ),
    "token.unsupported_crit": (
        (
            "the identity token requires an extension (crit) this verifier does not understand",
            "身份令牌要求本验证方不支持的扩展（crit）",
        ),
    ),
    "token.unknown_key": (
        (
            "no trusted key has the identity token's key id {kid}",
            "没有受信任的密钥与身份令牌的密钥标识 {kid} 匹配",
        ),
        (
            "no trusted key has the identity token's key id",
            "没有受信任的密钥与身份令牌的密钥标识匹配",
        ),
    ),
    "token.invalid_signature": (
        ("the identity token's signature does not verify", "身份令牌签名验证失败"),
    ),
    "token.missing_claim": (
        (
            "identity token claim '{claim}' is missing or has the wrong type",
            "身份令牌的声明“{claim}”缺失或类型错误",
        ),
        (
            "a required identity token claim is missing or has the wrong type",
            "身份令牌缺少必需的声明或声明类型错误",
        ),
    ),
    "token.expired": (("the identity token has expired", "身份令牌已过期"),),
    "token.not_yet_valid": (("the identity token is not valid yet", "身份令牌尚未生效"),),
    "token.wrong_issuer": (
        (
            "the identity token's issuer (iss) is not the expected one",
            "身份令牌的签发方（iss）不符",
        ),
    ),
    "token.wrong_audience": (
        (
            "the identity token's audience (aud) is not this service",
            "身份令牌的受众（aud）不是本服务",
        ),
    ),
    "token.insufficient_assurance": (
        (
            "the identity token's assurance level is too low: {required} is required",
            "身份令牌的认证等级不足：需要 {required}",
        ),
        ("the identity token's assurance level is too low", "身份令牌的认证等级不足"),
    ),
    "token.revoked": (("the identity token has been revoked", "身份令牌已被撤销"),),
    "token.replayed": (
        (
            "the identity token or DPoP proof was presented again (replay)",
            "身份令牌或 DPoP 证明被重复出示（重放）",
        ),
    ),
    "dpop.invalid": (("the DPoP proof is not valid", "DPoP 证明无效"),),
    "dpop.binding_mismatch": (
        (
            "the DPoP key is not the key the identity token is bound to",
            "DPoP 密钥与身份令牌绑定的密钥不符",
        ),
    ),
    "oidc.error": (("the OpenID Connect login reported an error", "OpenID Connect 登录出错"),),
    "oidc.discovery": (
        (
            "the identity provider's discovery document is unusable: {reason}",
            "身份提供方的发现文档不可用：{reason}",
        ),
        ("the identity provider's discovery document is unusable", "身份提供方的发现文档不可用"),
    ),
    "oidc.unavailable": (
        (
            "the identity provider's {endpoint} endpoint could not be reached ({reason})",
            "无法访问身份提供方的 {endpoint} 端点（{reason}）",
        ),
        ("the identity provider could not be reached", "无法访问身份提供方"),
    ),
    "oidc.provider_error": (
        (
            "the identity provider's {endpoint} endpoint answered with error {error}",
            "身份提供方的 {endpoint} 端点返回错误 {error}",
        ),
        ("the identity provider answered with an error", "身份提供方返回错误"),
    ),
    "oidc.dpop_nonce": (
        (
            "the identity provider asked for a new DPoP nonce again after the retry",
            "身份提供方在重试后仍要求新的 DPoP 随机数",
        ),
    ),
    "oidc.invalid": (
        ("the identity provider's answer failed a check", "身份提供方的应答未通过校验"),
    ),
    "oidc.not_fapi": (
        (
            "the identity provider does not show that it meets the FAPI 2.0 security profile",
            "身份提供方未表明其符合 FAPI 2.0 安全规范",
        ),
    ),
    "oidc.issuer_mismatch": (
        (
            "the login answer comes from another issuer than the one the login started "
            "with (mix-up)",
            "登录应答的签发方与发起登录时的不同（混淆攻击）",
        ),
    ),
    "oidc.state_unknown": (
        ("the login answer names no login this service started", "登录应答对应的登录流程不存在"),
    ),
    "oidc.state_expired": (("the login took too long and expired", "登录流程已超时失效"),),
    "oidc.state_replayed": (("the login answer was already used", "该登录应答已被使用过"),),
    "oidc.state_mismatch": (
        (
            "the login answer belongs to another browser session",
            "登录应答属于另一个浏览器会话",
        ),
    ),
    "oidc.nonce_mismatch": (
        (
            "the ID token was not issued for this login (nonce)",
            "ID 令牌不是为本次登录签发的（nonce 不符）",
        ),
    ),
    "oidc.acr_insufficient": (
        (
            "the login's assurance level is lower than the one asked for",
            "登录的认证等级低于所要求的等级",
        ),
    ),
    "oidc.auth_time_too_old": (
        (
            "the person authenticated too long ago for this request (max_age)",
            "用户认证时间过早，不满足本次要求（max_age）",
        ),
    ),
    "oidc.subject_mismatch": (
        (
            "the user information is about another person than the ID token",
            "用户信息与 ID 令牌不是同一人",
        ),
    ),
    "oidc.response_invalid": (
        (
            "the identity provider's answer is malformed: {reason}",
            "身份提供方的应答格式错误：{reason}",
        ),
        ("the identity provider's answer is malformed", "身份提供方的应答格式错误"),
    ),
    "oidc.challenge_invalid": (
        (
            "the service's authentication challenge is not a step-up challenge",
            "服务返回的认证质询不是升级认证质询",
        ),
    ),
    "oidc.logout_invalid": (
        (
            "the back-channel logout token is not valid: {reason}",
            "后端通道注销令牌无效：{reason}",
        ),
        ("the back-channel logout token is not valid", "后端通道注销令牌无效"),
    ),
    "oidc.logout_replayed": (
        (
            "the back-channel logout token was received before (replay)",
            "后端通道注销令牌被重复接收（重放）",
        ),
    ),
    "oidc.login_request_invalid": (
        (
            "the login route does not allow this request: {reason}",
            "登录地址不允许此请求：{reason}",
        ),
        ("the login route does not allow this request", "登录地址不允许此请求"),
    ),
}

_CERTIFICATES: Final[dict[str, _Variants]] = {
    "certificate.error": (
        ("the electronic licence component reported an error", "电子证照模块出错"),
    ),
    **_LICENCE_FIELD,
    "trust.unavailable": (
        (
            "the trust list or status list at {location} could not be loaded",
            "无法加载信任列表或状态列表（{location}）",
        ),
        ("the trust list or status list could not be loaded", "无法加载信任列表或状态列表"),
    ),
    "trust.unsupported_version": (
        (
            "the trust list's format version {version} is newer than this release reads",
            "信任列表的格式版本 {version} 过新，本版本无法读取",
        ),
        (
            "the trust list's format version is newer than this release reads",
            "信任列表的格式版本过新，本版本无法读取",
        ),
    ),
    "verifier.state": (
        ("this device's verifier state cannot be read or written", "无法读写本设备的验证状态"),
    ),
    "verifier.state_locked": (
        (
            "another process holds this device's verifier state; try again",
            "本设备的验证状态被其他进程占用，请稍后重试",
        ),
    ),
    "qr.unreadable": (
        ("the picture could not be read as one QR code", "无法从图片中读取唯一的二维码"),
    ),
    "qr.not_found#not_an_image": (
        ("the file is not a PNG or JPEG picture", "文件不是 PNG 或 JPEG 图片"),
    ),
    "qr.not_found#too_large": (("the picture is too large to read", "图片过大，无法读取"),),
    "qr.not_found": (("no QR code could be read from the picture", "未能从图片中读取到二维码"),),
    "qr.several_codes": (
        (
            "the picture holds {count} different QR codes; one picture must hold one",
            "图片中有 {count} 个不同的二维码，每张图片只能有一个",
        ),
        (
            "the picture holds several different QR codes; one picture must hold one",
            "图片中有多个不同的二维码，每张图片只能有一个",
        ),
    ),
    "certificate.invalid": (("the electronic licence is not valid", "电子证照无效"),),
    "certificate.format#licence": (
        (
            "the electronic licence's data is malformed (field '{field}')",
            "电子证照的数据格式错误（字段“{field}”）",
        ),
    ),
    "certificate.format": (
        ("the data is not a well-formed electronic licence", "数据不是格式正确的电子证照"),
    ),
    "certificate.too_large": (
        ("the electronic licence exceeds a size limit", "电子证照数据超出大小限制"),
    ),
    "certificate.algorithm": (
        (
            "the electronic licence's signature algorithm is not accepted",
            "电子证照的签名算法不被接受",
        ),
    ),
    "certificate.unknown_key": (
        (
            "the trust list holds no key {kid}: the issuing authority is not on it, or "
            "the list is out of date",
            "信任列表中没有密钥 {kid}：签发机关不在信任列表中，或信任列表不是最新的",
        ),
        (
            "the trust list holds no key of this licence: the issuing authority is not on it, "
            "or the list is out of date",
            "信任列表中没有该证照的签名密钥：签发机关不在信任列表中，或信任列表不是最新的",
        ),
    ),
    "certificate.invalid_signature": (
        (
            "the electronic licence's signature does not verify: it was altered or forged",
            "电子证照签名验证失败：内容被篡改或伪造",
        ),
    ),
    "certificate.issuer_not_allowed#withdrawn": (
        ("the issuing authority's key {kid} was withdrawn", "签发机关的密钥 {kid} 已被撤回"),
        ("the issuing authority's key was withdrawn", "签发机关的该密钥已被撤回"),
    ),
    "certificate.issuer_not_allowed#type": (
        (
            "key {kid} may not sign this type of licence",
            "密钥 {kid} 无权签发此类证照",
        ),
        ("the issuing authority may not issue this type of licence", "签发机关无权签发此类证照"),
    ),
    "certificate.issuer_not_allowed": (
        (
            "the issuing authority may not issue this type of licence, or its key was withdrawn",
            "签发机关无权签发此类证照，或其密钥已被撤回",
        ),
    ),
    "certificate.expired": (
        ("the electronic licence's validity period has ended", "电子证照已超过有效期"),
    ),
    "certificate.not_yet_valid": (
        ("the electronic licence's validity period has not begun", "电子证照的有效期尚未开始"),
    ),
    "certificate.revoked": (("the electronic licence has been revoked", "电子证照已被吊销"),),
    "certificate.suspended": (("the electronic licence is suspended", "电子证照已被暂停"),),
    "certificate.status_unknown#no_list": (
        (
            "no status list was given, so whether the licence was revoked cannot be checked",
            "未提供状态列表，无法检查证照是否被吊销",
        ),
    ),
    "certificate.status_unknown#no_list_for_issuer": (
        (
            "no status list of the licence's issuing authority was given, so whether it was "
            "revoked cannot be checked",
            "未提供该证照签发机关的状态列表，无法检查证照是否被吊销",
        ),
    ),
    "certificate.status_unknown": (
        (
            "whether the licence was revoked could not be checked, so it is not accepted",
            "无法检查电子证照是否被吊销，因此不予采信",
        ),
    ),
    "certificate.status_stale": (
        (
            "the status list has expired, so the licence's status is not current",
            "状态列表已过期，证照状态不是最新的",
        ),
    ),
    "trust.invalid": (
        (
            "the trust list is malformed or not signed by the trust anchor",
            "信任列表格式错误，或不是由信任锚签名的",
        ),
    ),
    "trust.stale": (
        ("the trust list (or status list) has expired", "信任列表（或状态列表）已过期"),
    ),
    "trust.rollback": (
        (
            "the trust list (or status list) is older than the one this device already holds",
            "信任列表（或状态列表）比本设备已有的更旧（回滚）",
        ),
    ),
    "trust.equivocation": (
        (
            "a different list has the sequence number this device already holds",
            "出现了与本设备已有列表序号相同但内容不同的列表",
        ),
    ),
    "status.invalid": (
        (
            "the status list is malformed or not signed by a trusted key",
            "状态列表格式错误，或没有受信任密钥的签名",
        ),
    ),
    "presentation.disclosure": (
        (
            "a disclosed field does not match the licence's signed digests",
            "出示的字段与证照签名的摘要不符",
        ),
    ),
    "presentation.holder_binding": (
        (
            "the presentation was not signed by the holder's device",
            "出示内容不是由持证人绑定的设备签名的",
        ),
    ),
    "presentation.stale": (
        (
            "the presentation was made outside the accepted time window",
            "出示时间不在可接受的时间范围内",
        ),
    ),
    "presentation.replayed": (
        (
            "this presentation was already shown to this verifier (replay)",
            "该出示内容已向本验证方出示过（重放）",
        ),
    ),
    "presentation.over_disclosure": (
        (
            "the presentation reveals fields profile {profile} does not allow: {items}",
            "出示内容包含验证配置“{profile}”不允许的字段：{items}",
        ),
        (
            "the presentation reveals fields its verifier profile does not allow",
            "出示内容包含验证配置不允许的字段",
        ),
    ),
    "presentation.missing_disclosure": (
        (
            "the presentation lacks fields profile {profile} requires: {items}",
            "出示内容缺少验证配置“{profile}”要求的字段：{items}",
        ),
        (
            "the presentation lacks fields its verifier profile requires",
            "出示内容缺少验证配置要求的字段",
        ),
    ),
}

_DOCUMENTS: Final[dict[str, _Variants]] = {
    "pdf.error": (("the PDF component reported an error", "PDF 模块出错"),),
    "pdf.render": (
        ("the PDF cannot be rendered (field '{field}')", "无法生成 PDF（字段“{field}”）"),
        ("the PDF cannot be rendered", "无法生成 PDF"),
    ),
    "pdf.font": (
        ("a font cannot be loaded or lacks the glyphs needed", "无法加载字体，或字体缺少所需字形"),
    ),
    "pdf.unreadable": (("the file is not a PDF govkit can read", "无法读取该 PDF 文件"),),
    "pdf.no_payload": (
        ("the PDF carries no embedded electronic licence", "PDF 中没有嵌入电子证照"),
    ),
    "esign.error": (("the signing component reported an error", "电子签名模块出错"),),
    "esign.signing": (("the document could not be signed", "无法签署该文档"),),
    "esign.timestamp": (
        ("no usable timestamp could be obtained", "无法连接时间戳服务，或未获得可用的时间戳"),
    ),
    "esign.revocation": (
        (
            "revocation information (CRL or OCSP) could not be fetched",
            "无法获取证书吊销信息（CRL 或 OCSP）",
        ),
    ),
    "esign.invalid": (("the signed document does not verify", "签名文档验证失败"),),
    "esign.not_signed": (("the document carries no signature", "文档没有签名"),),
    "esign.format": (("a signature is malformed", "签名格式错误"),),
    "esign.invalid_signature": (("the document's signature does not verify", "文档签名验证失败"),),
    "esign.digest_mismatch": (
        (
            "the document's bytes differ from the signed digest: it was changed",
            "文档内容与签名摘要不符：文档已被改动",
        ),
    ),
    "esign.untrusted": (
        (
            "the signer's certificate or key does not chain to a trusted authority",
            "签名者的证书或密钥不属于受信任的机构",
        ),
    ),
    "esign.modified": (
        (
            "the document was changed after signing, or the signature does not cover all of it",
            "文档在签名后被修改，或签名未覆盖整个文档",
        ),
    ),
    "esign.wrong_purpose": (("the signature was made for another purpose", "签名的用途不符"),),
    "esign.chain": (
        ("the chain of signatures is out of order or broken", "多方签名链顺序错误或不完整"),
    ),
    "esign.signer_mismatch": (
        (
            "the trust list does not authorise this signing certificate for the licence's "
            "issuing authority",
            "信任列表未授权该签名证书代表此签发机关签署",
        ),
    ),
}

_PAYMENTS: Final[dict[str, _Variants]] = {
    "payment.error": (("the payments component reported an error", "支付模块出错"),),
    "payment.order_rejected": (
        ("order {order_id} cannot be created as given", "无法按所给条件创建订单 {order_id}"),
        ("the order cannot be created as given", "无法按所给条件创建订单"),
    ),
    "payment.key_refresh": (
        (
            "the provider's platform keys could not be fetched or read",
            "无法下载或读取支付渠道的平台密钥",
        ),
    ),
    "payment.query_failed": (
        ("the query to the payment provider failed", "向支付渠道查询或下载对账单失败"),
    ),
    "payment.conflict": (
        (
            "two verified callbacks have the same event id but different content",
            "两个已验证的回调事件编号相同但内容不同",
        ),
    ),
    "payment.in_flight": (
        (
            "the event is stored but not processed yet; the provider will retry",
            "事件已保存但尚未处理，支付渠道会重试",
        ),
    ),
    "payment.handler_failed": (
        (
            "the application's handler failed on the event; it will be retried",
            "应用处理该事件失败，将会重试",
        ),
    ),
    "payment.release_refused": (
        ("only a quarantined event can be released", "只有被隔离的事件才能解除隔离"),
    ),
    "payment.event_unknown": (
        ("no single stored event has id {event_id}", "没有唯一编号为 {event_id} 的已保存事件"),
        ("no single stored event has that id", "没有唯一具有该编号的已保存事件"),
    ),
    "payment.delivery_unknown": (
        ("no stored delivery has id {delivery_id}", "没有编号为 {delivery_id} 的已保存投递"),
        ("no stored delivery has that id", "没有该编号的已保存投递"),
    ),
    "payment.body_purged": (
        (
            "the body of delivery {delivery_id} was purged after the inbox's retention;"
            " only its SHA-256 digest is kept",
            "投递 {delivery_id} 的原始报文已在保留期满后清除，仅保留其 SHA-256 摘要",
        ),
        (
            "the delivery's body was purged after the inbox's retention;"
            " only its SHA-256 digest is kept",
            "该投递的原始报文已在保留期满后清除，仅保留其 SHA-256 摘要",
        ),
    ),
    "payment.invalid": (("the payment callback is not genuine", "支付回调无效：不是真实的回调"),),
    "payment.bad_signature": (
        ("the payment callback's signature does not verify", "支付回调签名验证失败"),
    ),
    "payment.signature_probe": (
        (
            "a deliberate bad-signature probe from the provider",
            "支付渠道的签名探测请求（故意使用错误签名）",
        ),
    ),
    "payment.unknown_key": (
        (
            "no trusted key or certificate matches the callback",
            "没有与回调匹配的受信任密钥或证书",
        ),
    ),
    "payment.stale_timestamp": (
        (
            "the callback's signed time lies outside the replay window",
            "回调的签名时间超出防重放时间窗口",
        ),
    ),
    "payment.decrypt_failed": (
        (
            "the callback's encrypted resource does not decrypt (wrong key or tampered)",
            "回调的加密内容无法解密（密钥错误或内容被篡改）",
        ),
    ),
    "payment.malformed": (
        ("payment field '{field}' is malformed", "支付字段“{field}”格式错误"),
        ("the payment callback or bill is malformed", "支付回调或对账单格式错误"),
    ),
    "payment.too_large": (("the payment callback is too large", "支付回调内容超出大小限制"),),
    "payment.merchant_mismatch": (
        (
            "the callback names another merchant or app than the one configured",
            "回调属于其他商户或应用",
        ),
    ),
}

#: The ``cli.*`` codes of the ``govkit`` command (the command's own messages say more).
_CLI: Final[dict[str, _Variants]] = {
    "cli.usage": (("the arguments do not go together", "命令参数有误"),),
    "cli.environment": (
        ("something outside the input is wrong", "运行环境出错（文件、变量或服务）"),
    ),
    "cli.no_vkey": (("no trusted verifier key was given", "未提供受信任的验证公钥"),),
    "cli.file_exists": (
        (
            "an output file exists; nothing was written (--force replaces it)",
            "输出文件已存在，未写入任何内容（--force 可覆盖）",
        ),
    ),
    "cli.no_such_file": (("no such file", "文件不存在"),),
    "cli.missing_file": (("the payment inbox does not exist", "支付收件箱不存在"),),
    "cli.handler": (("the handler cannot be imported", "无法导入处理程序"),),
    "cli.too_large": (("the input file is too large", "输入文件过大"),),
    "cli.missing_env": (("an environment variable is not set", "环境变量未设置"),),
    "cli.no_key": (("no checkpoint signing key was found", "找不到检查点签名密钥"),),
    "cli.no_pseudonym_key": (("no pseudonym secret was found", "找不到假名密钥"),),
    "cli.not_a_log": (("the store is not a govkit audit log", "该存储不是 govkit 审计日志"),),
    "cli.not_a_store": (
        (
            "the store holds none of the govkit components asked for",
            "该存储中没有所要求的 govkit 组件",
        ),
    ),
    "cli.bad_state": (("the file is not a govkit status state", "该文件不是 govkit 状态文件"),),
    "cli.io": (("a file could not be read or written", "文件读写出错"),),
    "cli.interrupted": (("the command was interrupted", "命令被中断"),),
}

#: code (or ``code#reason``) -> variants ``(English, Chinese)``, most specific first.
MESSAGES: Final[Mapping[str, _Variants]] = MappingProxyType(
    {
        **_CORE,
        **_KEYS,
        **_AUDIT,
        **_IDENTITY,
        **_stores(),
        **_CERTIFICATES,
        **_DOCUMENTS,
        **_PAYMENTS,
        **_CLI,
    }
)


# -- the details of checks that passed or were not made ------------------------------------

#: detail key -> ``(English, Chinese)``: the detail line of a check a verifier passed
#: (or did not make), as :meth:`govkit.report.Check.detail_in` renders it. The
#: ``{placeholders}`` are values shown as they are in both languages (a date, a key id,
#: a count, an agency's name, a licence type's name); both languages name the same ones
#: (a test checks). A failed check's detail is its error's message instead
#: (:func:`govkit.errors.message_for` of its code).
DETAILS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        # -- licences and presentations (govkit.certificates) -------------------------
        "input.picture": ("QR picture decoded", "已识读二维码图片"),
        "input.payload": ("payload text", "二维码文本"),
        "input.presentation": ("presentation text", "出示内容文本"),
        "format.licence": ("a {prefix} licence payload", "{prefix} 电子证照数据"),
        "format.presentation": (
            "a {type} presentation disclosing {count} items",
            "{type} 出示内容，披露 {count} 个字段",
        ),
        "trust.sequence": ("trust list #{sequence}", "信任列表 #{sequence}"),
        # -- summary lines under a report (Report.summary_in) ---------------------------
        "summary.token": (
            "subject {subject}, assurance {assurance}, expires {expires}",
            "主体 {subject}，认证等级 {assurance}，有效期至 {expires}",
        ),
        "summary.log": ("{size} entries verified", "已核验 {size} 条记录"),
        "summary.fapi_scope": (
            "NOT tested: the provider's behaviour (only its discovery document, what it "
            "advertises, was read)",
            "未测试：身份提供方的实际行为（仅读取了其发现文档，即其公布的能力）",
        ),
        "summary.checkpoint": (
            "{origin}: {size} entries, root {root}",
            "{origin}：{size} 条记录，根哈希 {root}",
        ),
        "summary.signer": ("signer: {signer} ({level})", "签名人：{signer}（{level}）"),
        "summary.payment": (
            "{provider} {kind} {event}: order {order}, {amount} {currency}",
            "{provider} {kind} {event}：订单 {order}，金额 {amount} {currency}（最小货币单位）",
        ),
        "signature.issuer_kid": (
            "signed by {agency} (kid {kid})",
            "由{agency}签名（密钥标识 {kid}）",
        ),
        "signature.issuer": ("signed by {agency}", "由{agency}签名"),
        "issuer.may_issue": ("{agency} may issue {type}", "{agency}有权签发 {type}"),
        "validity.until": ("valid until {until}", "有效期至 {until}"),
        "validity.until_exclusive": (
            "valid until {until} (exclusive)",
            "有效期至 {until}（不含该时刻）",
        ),
        "status.checked": (
            "valid: the issuer's status list marks it neither revoked nor suspended",
            "未被吊销：签发机关的状态列表显示其既未吊销也未暂停",
        ),
        "status.skipped": (
            "not performed (unsafe_skip_status): revocation was NOT checked",
            "未检查（unsafe_skip_status）：未检查是否被吊销",
        ),
        "holder_binding.device": ("signed by device {device}…", "由持证人设备 {device}… 签名"),
        "freshness.nonce": ("answers the nonce", "应答了本次的挑战值"),
        "freshness.age": ("made {seconds} s ago", "{seconds} 秒前生成"),
        "disclosures.match": (
            "{count} disclosures match the signed Merkle root",
            "{count} 个出示字段与已签名的默克尔根一致",
        ),
        "profile.none": ("no profile", "未指定验证配置"),
        "profile.fits": ("fits {profile}", "符合验证配置 {profile}"),
        "trust_freshness.current": (
            "trust list #{sequence} is current",
            "信任列表 #{sequence} 在有效期内",
        ),
        "trust_freshness.expired": (
            "trust list expired at {expired}",
            "信任列表已于 {expired} 过期",
        ),
        "trust_freshness.expired_accepted": (
            "trust list expired at {expired} (accepted: allow_stale_trust)",
            "信任列表已于 {expired} 过期（已按 allow_stale_trust 接受）",
        ),
        "status_freshness.expired": (
            "the issuer's status list {list_id} is past its expiry",
            "签发机关的状态列表 {list_id} 已过期",
        ),
        "status_freshness.expired_accepted": (
            "the issuer's status list {list_id} is past its expiry (accepted: allow_stale_trust)",
            "签发机关的状态列表 {list_id} 已过期（已按 allow_stale_trust 接受）",
        ),
        # -- the verifier state's clock --------------------------------------------------
        "clock.not_behind": (
            "the device clock is not behind the newest signed time seen ({newest})",
            "设备时钟不早于本设备已见过的最新签名时间（{newest}）",
        ),
        "clock.nothing_held": (
            "no signed time held yet to compare with",
            "尚未持有可供比较的签名时间",
        ),
        # -- licence PDFs ------------------------------------------------------------------
        "licence.payload": (
            "the PDF carries a licence payload ({attachment})",
            "PDF 内嵌电子证照数据（{attachment}）",
        ),
        "pdf_signer.authorised": (
            "signed by certificates the trust list authorises for {agency} ({uscc}): {matched}",
            "签名证书经信任列表授权代表{agency}（{uscc}）：{matched}",
        ),
        "pdf_signer.unknown_issuer": (
            "not performed: the embedded licence did not verify, so its issuer is not known",
            "未检查：内嵌的电子证照未通过验证，无法确定其签发机关",
        ),
        "pdf_signer.no_signature": (
            "not performed: no readable signature",
            "未检查：没有可读取的签名",
        ),
        "pdf_signer.untrusted": (
            "not performed: {fields} is not by a trusted certificate",
            "未检查：{fields} 不是由受信任的证书签署",
        ),
        # -- PDF signatures (govkit.esign) ------------------------------------------------
        "signed.count": ("{count} signature(s)", "{count} 个签名"),
        "integrity.verified": (
            "digest matches; signature verifies",
            "摘要一致，签名验证通过",
        ),
        "coverage.document": (
            "the signature covers the whole document",
            "签名覆盖整个文档",
        ),
        "coverage.revision": (
            "covers its revision; only validation data was added after it",
            "签名覆盖其所在版本；此后只添加了验证数据",
        ),
        "coverage.countersigned": (
            "covers its revision; later revisions only add signatures, checked below",
            "签名覆盖其所在版本；之后的版本只添加了签名，见下文各项检查",
        ),
        "chain.trusted": (
            "the signer's certificate chains to a trusted CA",
            "签名者的证书可追溯到受信任的 CA",
        ),
        "timestamp.none": (
            "no signature timestamp: the signing time is the signer's claim",
            "没有签名时间戳：签名时间仅为签名者自称",
        ),
        "timestamp.trusted": ("trusted timestamp {time}", "可信时间戳 {time}"),
        # -- govkit oidc check: an OpenID provider's discovery document -----------------
        "fapi.discovery": ("a JSON discovery document", "JSON 格式的发现文档"),
        "fapi.issuer": ("the document names {issuer} as its issuer", "文档的签发方标识为 {issuer}"),
        "fapi.https": (
            "the issuer and every endpoint use https ({count} URLs)",
            "签发方标识与所有端点均使用 https（共 {count} 个地址）",
        ),
        "fapi.https_loopback": (
            "the issuer and every endpoint use https, or http to a loopback host ({loopback} "
            "of {count} URLs)",
            "签发方标识与所有端点均使用 https，或对本机回环地址使用 http（{count} 个地址中 "
            "{loopback} 个）",
        ),
        "fapi.https_missing": (
            "missing, so not shown to be https: {names}",
            "缺少以下端点，无法确认使用 https：{names}",
        ),
        "fapi.https_wrong": (
            "not https (nor http to a loopback host), or carrying credentials or a "
            "fragment: {names}",
            "以下地址不是 https（也不是对本机回环地址的 http），或带有凭据或片段：{names}",
        ),
        "fapi.issuer_missing": ("the document has no issuer", "文档没有签发方标识"),
        "fapi.issuer_other": (
            "the document names another issuer ({named}), not {issuer}",
            "文档的签发方标识是另一个（{named}），而不是 {issuer}",
        ),
        "fapi.par_missing": (
            "no pushed_authorization_request_endpoint (RFC 9126)",
            "没有 pushed_authorization_request_endpoint（RFC 9126）",
        ),
        "fapi.par_optional": (
            "require_pushed_authorization_requests is not true: requests without PAR are accepted",
            "require_pushed_authorization_requests 不为 true：不经 PAR 的请求也会被接受",
        ),
        "fapi.pkce_unreadable": (
            "code_challenge_methods_supported is missing or not a list of strings",
            "code_challenge_methods_supported 缺失或不是字符串列表",
        ),
        "fapi.pkce_no_hash": (
            "no S256 in code_challenge_methods_supported ({methods})",
            "code_challenge_methods_supported 中没有 S256（{methods}）",
        ),
        "fapi.pkce_plain": (
            "code_challenge_methods_supported also offers plain",
            "code_challenge_methods_supported 还提供 plain 方式",
        ),
        "fapi.client_auth_unreadable": (
            "token_endpoint_auth_methods_supported is missing (the default is "
            "client_secret_basic) or not a list of strings",
            "token_endpoint_auth_methods_supported 缺失（默认为 client_secret_basic）或不是"
            "字符串列表",
        ),
        "fapi.client_auth_no_jwt": (
            "no private_key_jwt ({methods})",
            "不支持 private_key_jwt（{methods}）",
        ),
        "fapi.client_auth_other": (
            "also offers methods FAPI 2.0 does not allow: {methods}",
            "还提供 FAPI 2.0 不允许的认证方式：{methods}",
        ),
        "fapi.dpop_missing": (
            "no dpop_signing_alg_values_supported: DPoP is not offered (mTLS-bound tokens "
            "are not recognised by this check)",
            "没有 dpop_signing_alg_values_supported：未提供 DPoP（本检查不识别绑定 mTLS 的令牌）",
        ),
        "fapi.dpop_weak": (
            "DPoP proofs may use none or HMAC: {algs}",
            "DPoP 证明可使用 none 或 HMAC：{algs}",
        ),
        "fapi.iss_parameter_missing": (
            "authorization_response_iss_parameter_supported is not true (RFC 9207): the "
            "client cannot tell which provider answered (mix-up)",
            "authorization_response_iss_parameter_supported 不为 true（RFC 9207）：客户端无法"
            "分辨是哪个提供方作答（混淆攻击）",
        ),
        "fapi.signing_missing": (
            "id_token_signing_alg_values_supported is missing",
            "缺少 id_token_signing_alg_values_supported",
        ),
        "fapi.signing_malformed": (
            "not a list of strings: {names}",
            "以下不是字符串列表：{names}",
        ),
        "fapi.signing_weak": ("none or HMAC offered: {weak}", "提供了 none 或 HMAC：{weak}"),
        "fapi.algorithms_unreadable": (
            "the signing algorithm lists cannot be read",
            "无法读取签名算法列表",
        ),
        "fapi.algorithms_other": (
            "algorithms outside PS256, ES256 and EdDSA: {other}",
            "PS256、ES256 和 EdDSA 以外的算法：{other}",
        ),
        "fapi.par": (
            "pushed authorization requests are required",
            "要求使用推送授权请求（PAR）",
        ),
        "fapi.pkce": ("PKCE with S256 only", "仅支持 S256 方式的 PKCE"),
        "fapi.client_auth": (
            "clients authenticate with {methods} only",
            "客户端仅能以 {methods} 认证",
        ),
        "fapi.dpop": ("DPoP proofs signed with {algs}", "DPoP 证明以 {algs} 签名"),
        "fapi.iss_parameter": (
            "authorization responses carry iss (RFC 9207)",
            "授权响应带有 iss 参数（RFC 9207）",
        ),
        "fapi.signing_algorithms": (
            "no none or HMAC in {count} signing algorithm lists",
            "{count} 个签名算法列表中均无 none 或 HMAC",
        ),
        "fapi.fapi_algorithms": (
            "only PS256, ES256 and EdDSA are offered",
            "仅提供 PS256、ES256 和 EdDSA",
        ),
        # -- identity tokens (govkit.identity TokenVerifier.inspect) ----------------------
        "token.size": ("at most {max_bytes} bytes", "不超过 {max_bytes} 字节"),
        "token.structure": (
            "compact JWS: three base64url parts, JSON object header",
            "紧凑 JWS：三段 base64url，头部为 JSON 对象",
        ),
        "token.type": ("typ is for {profile} tokens", "typ 为 {profile} 身份令牌类型"),
        "token.header": (
            "no token-supplied keys, no crit, no b64; kid present",
            "令牌未自带密钥，无 crit、无 b64；带有 kid",
        ),
        "token.key": ("key {kid} ({alg})", "密钥 {kid}（{alg}）"),
        "token.algorithm": ("alg is the key's {alg}", "alg 为该密钥的 {alg}"),
        "token.signature": ("signature verifies", "签名验证通过"),
        "token.claims": ("claims are a JSON object", "声明为 JSON 对象"),
        "token.expiry": ("expires in {seconds} s", "{seconds} 秒后过期"),
        "token.nbf_passed": ("nbf has passed", "已过 nbf 生效时间"),
        "token.no_nbf": ("no nbf", "无 nbf"),
        "token.issued_at": ("iat is not in the future", "iat 签发时间不在未来"),
        "token.issuer": ("iss is the expected issuer", "iss 为预期的签发方"),
        "token.audience": ("aud is this audience only", "aud 仅为本受众"),
        "token.subject": ("sub present", "带有 sub（主体标识）"),
        "token.token_id": ("jti present", "带有 jti（令牌编号）"),
        "token.assurance": ("acr {level}", "认证等级 acr {level}"),
        "token.amr": ("{count} amr values", "{count} 个 amr 认证方式"),
        "token.scope": ("scope is a string", "scope 为字符串"),
        "token.no_scope": ("no scope", "无 scope"),
        "token.dpop_bound": ("bound to a DPoP key (cnf.jkt)", "绑定到 DPoP 密钥（cnf.jkt）"),
        "token.no_cnf": ("bearer token (no cnf)", "持有者令牌（无 cnf）"),
        "token.no_revocation_store": (
            "no revocation store configured",
            "未配置撤销记录存储",
        ),
        "token.not_revoked": ("not revoked", "未被撤销"),
        "token.bearer": ("bearer token", "持有者令牌"),
        "token.dpop_key": ("DPoP proof key matches cnf.jkt", "DPoP 证明的密钥与 cnf.jkt 一致"),
        # -- detached signatures (govkit.esign inspect_detached) -------------------------
        "detached.file": (
            "a detached signature file of {count} signature(s)",
            "分离签名文件，含 {count} 个签名",
        ),
        "detached.header": (
            "a govkit detached signature, role {role}",
            "govkit 分离签名，角色 {role}",
        ),
        "detached.digest": ("over this data (SHA-256)", "签署的正是此数据（SHA-256）"),
        "detached.signature": (
            "verifies with trusted key {kid} ({alg})",
            "以受信任的密钥 {kid}（{alg}）验证通过",
        ),
        "detached.chain_start": ("starts the chain", "签名链的起点"),
        "detached.chain_follows": (
            "follows the signature before it, in order",
            "按顺序接在前一个签名之后",
        ),
        "detached.no_roles": ("no roles were required", "未要求签名角色"),
        "detached.roles": (
            "the chain has exactly the required roles",
            "签名链的角色与要求完全一致",
        ),
        "detached.no_purpose": (
            "no purpose was required: any purpose is accepted",
            "未要求签名用途：接受任何用途",
        ),
        "detached.purpose": ("for the required purpose", "用于所要求的用途"),
        # -- audit logs (govkit.audit verify_log, inspect_checkpoint) ---------------------
        "audit.entries": (
            "{count} entries, dense, each hashing to its leaf",
            "{count} 个条目，连续无缺，每个条目的哈希与其叶子一致",
        ),
        "audit.columns": (
            "every entry canonical; query columns agree with it",
            "每个条目均为规范形式；查询列与之一致",
        ),
        "audit.columns_skipped": (
            "each entry's canonical form and query columns: only with deep",
            "每个条目的规范形式和查询列：仅在深度检查时检查",
        ),
        "audit.nodes": (
            "stored interior nodes match the recomputed tree",
            "存储的内部节点与重新计算的默克尔树一致",
        ),
        "audit.checkpoints": (
            "{count} stored checkpoints signed and matching",
            "{count} 个已存储的检查点签名有效且一致",
        ),
        "audit.no_external": (
            "no checkpoint saved outside the store was given",
            "未提供存储之外保存的检查点",
        ),
        "audit.extends": (
            "extends the saved checkpoint of size {size}",
            "是已保存检查点（大小 {size}）的延续",
        ),
        "audit.extends_held": (
            "extends the saved checkpoint of size {size} (the checkpoint this device holds)",
            "是已保存检查点（大小 {size}，即本设备持有的检查点）的延续",
        ),
        "audit.extends_also_held": (
            "extends the saved checkpoint of size {size}; and the checkpoint this device "
            "holds (size {other})",
            "是已保存检查点（大小 {size}）的延续；也是本设备持有的检查点（大小 {other}）的延续",
        ),
        "audit.extends_also_given": (
            "extends the saved checkpoint of size {size}; and the checkpoint given (size {other})",
            "是已保存检查点（大小 {size}）的延续；也是所给检查点（大小 {other}）的延续",
        ),
        "audit.note": (
            "a signed note with {count} signature line(s)",
            "已签名的检查点，含 {count} 行签名",
        ),
        "audit.note_signers": (
            "{count} trusted key(s) signed: {names}",
            "{count} 个受信任的密钥签名：{names}",
        ),
        "audit.tree": ("tree of {size} entries", "含 {size} 个条目的默克尔树"),
        "audit.no_origin": ("no expected origin was given", "未提供预期的日志来源标识"),
        "audit.origin": ("the expected log", "为预期的审计日志"),
        # -- payment callbacks (govkit.payments inspect) ----------------------------------
        "payment.signature": (
            "a trusted key verifies the signature over the raw body",
            "受信任的密钥验证了原始报文上的签名",
        ),
        "payment.timestamp": (
            "the signed time lies within the replay window",
            "签名时间在防重放时间窗口内",
        ),
        "payment.decryption": (
            "the resource decrypts with the APIv3 key (its AEAD tag verifies)",
            "resource 可用 APIv3 密钥解密（其 AEAD 标签验证通过）",
        ),
        "payment.merchant": ("for the configured merchant", "属于所配置的商户"),
        "payment.format": (
            "a well-formed {kind} event for order {order_id}",
            "格式正确的 {kind} 事件，订单 {order_id}",
        ),
        "payment.not_established": (
            "not established: the callback failed its {failed} check",
            "未确认：该支付回调未通过 {failed} 检查",
        ),
        "payment.no_signed_time": (
            "{name} signs no time: freshness NOT checked; only a payment inbox's unique "
            "key stops replays",
            "{name} 不签名时间：未检查时效；仅支付收件箱的唯一键可阻止重放",
        ),
        "payment.no_mchid": ("no mchid configured", "未配置商户号 mchid"),
        "payment.no_mer_id": ("no mer_id configured", "未配置商户号 mer_id"),
    }
)
