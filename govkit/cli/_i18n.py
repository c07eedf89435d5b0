"""The ``govkit`` command in Chinese and English: its messages, the language, and tables.

Every line the command prints for people (verdicts, check names, status lines, hints,
its own errors, table headings) is looked up here by key with :func:`t`, in the
language the user reads. The language is ``--lang zh|en``, else the first of
``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set: Chinese when it starts with
``zh`` (``zh_CN.UTF-8``), English otherwise. Errors of the library are rendered with
:func:`govkit.errors.render_message`; the codes never change with the language.

Only the command reads the environment; the library never does. Help texts
(``--help``) follow the language too: :data:`HELP` holds the Chinese of each English
help text, and :func:`localise_help` puts it in place when the parser is built (the
command reads ``--lang`` from its arguments before it builds the parser).

Tables align by display width: a Chinese character takes two columns on a terminal
(East Asian Width ``W`` or ``F``), so :func:`pad` and :func:`table` count it twice.
"""

from __future__ import annotations

import argparse
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Final

__all__ = [
    "HELP",
    "LANGUAGES",
    "MESSAGES",
    "Key",
    "display_width",
    "help_texts",
    "language_from",
    "localise_help",
    "pad",
    "placeholders",
    "t",
    "table",
    "term",
]

#: The languages of the command.
LANGUAGES: Final = ("en", "zh")
#: The locale variables read for the language, the first one set wins (POSIX order).
LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_from(flag: str | None, environ: Mapping[str, str]) -> str:
    """``flag`` (``--lang``) if given, else ``zh`` when the first locale variable set
    starts with ``zh``, else ``en``."""
    if flag:
        return "zh" if flag.lower().startswith("zh") else "en"
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: 2 for wide and full-width characters, 0 for
    combining marks and format characters, 1 for the others."""
    cells = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


def pad(text: str, cells: int) -> str:
    """``text`` followed by spaces up to ``cells`` display columns."""
    return text + " " * max(0, cells - display_width(text))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Rows under headers, each column as wide as its widest cell in display columns."""
    widths = [display_width(h) for h in headers]
    for row in rows:
        widths = [max(w, display_width(c)) for w, c in zip(widths, row, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a message template fills."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Key(str):
    """A value that is itself a message key: :func:`t` fills it in the same language
    (``what=Key("what.licence")`` is "a licence" or "电子证照")."""

    __slots__ = ()


def t(key: str, lang: str, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (``en`` or ``zh``), its placeholders filled.

    Raises:
        KeyError: no message has that key (a test finds every key the command uses).
    """
    english, chinese = MESSAGES[key]
    filled = {k: t(v, lang) if isinstance(v, Key) else v for k, v in values.items()}
    return (chinese if lang == "zh" else english).format_map(filled)


def term(group: str, name: str, lang: str) -> str:
    """A word of the command's vocabulary (a check's name, a kind of report), in
    ``lang``: the entry ``group.name`` when there is one, else ``name`` as it is (names
    made at run time, such as ``party2.purpose``, keep their last part translated)."""
    entry = MESSAGES.get(f"{group}.{name}")
    if entry is not None:
        return entry[1] if lang == "zh" else entry[0]
    head, dot, last = name.rpartition(".")
    if dot:
        entry = MESSAGES.get(f"{group}.{last}")
        if entry is not None:
            return f"{head}.{entry[1] if lang == 'zh' else entry[0]}"
    return name


#: key -> (English, Chinese). Both name the same placeholders (a test checks).
MESSAGES: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        # -- outcome of a command, failures ----------------------------------------
        "label.invalid": ("INVALID", "无效"),
        "label.error": ("ERROR", "错误"),
        "label.ok": ("OK", "通过"),
        "label.warning": ("WARNING", "警告"),
        "label.hint": ("hint", "提示"),
        "fail.line": ("{label}: {message} [{code}]", "{label}：{message} [{code}]"),
        "hint.line": ("{label}: {hint}", "{label}：{hint}"),
        "usage.command_required": ("a command is required", "需要指定命令"),
        "usage.argparse": (
            "{prog}: error: {message}",
            "{prog}：命令参数有误：{message}（查看帮助：{prog} --help）",
        ),
        "io.failed": ("{reason}", "{reason}"),
        "io.failed_file": ("{reason}: {file}", "{reason}：{file}"),
        "interrupted": ("interrupted", "已中断"),
        "version": ("govkit {version}", "govkit {version}"),
        "list.separator": ("; ", "；"),
        "env.not_set": ("environment variable {var} is not set", "环境变量 {var} 未设置"),
        # -- what to do next, by error code ---------------------------------------
        "hint.qr.not_found": (
            "retake the photo (PNG or JPEG): the whole QR code in the frame, sharp and well lit",
            "请重新拍照（PNG 或 JPEG）：二维码完整、清晰、光线充足",
        ),
        "hint.qr.several_codes": (
            "retake the photo with only one QR code in the frame",
            "请重新拍照，画面中只保留一个二维码",
        ),
        "hint.certificate.status_unknown": (
            "revocation could not be checked: give the issuer's current status list "
            "(--status), or run govkit verifier sync",
            "无法检查是否被吊销：请用 --status 提供签发机关当前的状态列表，"
            "或运行 govkit verifier sync",
        ),
        "hint.certificate.status_stale": (
            "the status list has expired: fetch the issuer's latest one (--status, or "
            "govkit verifier sync)",
            "状态列表已过期：请获取签发机关最新的状态列表（--status，或 govkit verifier sync）",
        ),
        "hint.esign.signer_mismatch": (
            "the trust list does not authorise this PDF's signing certificate for the "
            "licence's issuer: do not rely on the file; if the certificate is the issuer's, "
            "the list's operator adds it (govkit trust add-issuer --pdf-signer-cert)",
            "信任列表未授权该证书代表此签发机关签署 PDF：请勿采信此文件；若证书确属该机关，"
            "由信任列表管理方添加（govkit trust add-issuer --pdf-signer-cert）",
        ),
        "hint.clock.behind": (
            "the device clock is behind a signed time this device has already seen: set the "
            "clock, then verify again",
            "设备时钟早于本设备已见过的签名时间：请校准时钟后重新验证",
        ),
        "hint.trust.rollback": (
            "the list given is older than the one this device holds: do not use it "
            "(govkit verifier status shows what is held)",
            "所给列表比本设备已持有的旧：请勿使用（govkit verifier status 可查看所持列表）",
        ),
        "hint.payment.event_unknown": (
            "check the event id (govkit payments show lists them); if several providers use "
            "that id, give --provider",
            "请核对事件编号（govkit payments show 可列出事件）；"
            "若多个支付渠道使用同一编号，请加 --provider",
        ),
        # -- files ---------------------------------------------------------------------
        "file.exists": (
            "{path} exists; use --force to replace it",
            "{path} 已存在；如需覆盖请使用 --force",
        ),
        "file.missing": ("{path}: no such file", "{path}：文件不存在"),
        "file.too_large": (
            "{path} is larger than {limit} bytes",
            "{path} 超过 {limit} 字节",
        ),
        # -- values of options (argparse adds "argument --x:") ---------------------------
        "type.time": ("expected ISO 8601 with a UTC offset", "应为带 UTC 偏移的 ISO 8601 时间"),
        "type.time_offset": (
            "the time needs a UTC offset, e.g. +08:00",
            "时间需要 UTC 偏移，例如 +08:00",
        ),
        "type.duration": (
            "expected a duration such as 600, 10m or 1h",
            "应为时长，例如 600、10m 或 1h",
        ),
        "type.date": ("expected a date YYYY-MM-DD", "应为日期 YYYY-MM-DD"),
        "type.name_value": ("expected NAME=VALUE", "应为 NAME=VALUE"),
        "argparse.required": (
            "the following arguments are required",
            "缺少以下必需参数",
        ),
        "argparse.unrecognized": ("unrecognized arguments", "无法识别的参数"),
        "argparse.invalid_choice": ("invalid choice", "无效的选项"),
        "argparse.choose_from": ("choose from", "可选值"),
        "argparse.one_argument": ("expected one argument", "需要一个参数值"),
        "argparse.not_allowed_with": ("not allowed with argument", "不能与以下参数同时使用"),
        "argparse.argument": ("argument ", "参数 "),
        "wrote": ("wrote {path}", "已写入 {path}"),
        "wrote_two": ("wrote {path} and {other}", "已写入 {path} 和 {other}"),
        # -- trust lists, issuing, revoking ---------------------------------------------
        "type.sha256": (
            "expected a SHA-256 hash: 64 hex digits",
            "应为 SHA-256 哈希：64 位十六进制数字",
        ),
        "trust.one_certificate": (
            "{path}: give one certificate per --pdf-signer-cert",
            "{path}：每个 --pdf-signer-cert 只能给一个证书",
        ),
        "state.not_a_state": ("{path} is not a govkit status state", "{path} 不是 govkit 状态文件"),
        "trust.added": (
            "added {name} (kid {kid}) to {path}",
            "已将 {name}（密钥标识 {kid}）加入 {path}",
        ),
        "trust.body_not_json": (
            "{detail} (a strict JSON object is expected)",
            "{detail}（应为严格的 JSON 对象）",
        ),
        "trust.wrote": ("wrote {path} (sequence {sequence})", "已写入 {path}（序号 {sequence}）"),
        "trust.key_active": ("active", "有效"),
        "trust.key_withdrawn": ("withdrawn", "已撤回"),
        "trust.show": (
            "trust list #{sequence}, expires {expires}",
            "信任列表 #{sequence}，有效期至 {expires}",
        ),
        "trust.show_stale": (
            "trust list #{sequence}, expires {expires} (STALE)",
            "信任列表 #{sequence}，有效期至 {expires}（已过期）",
        ),
        "trust.column.agency": ("agency", "签发机关"),
        "trust.column.uscc": ("uscc", "统一社会信用代码"),
        "trust.column.kid": ("kid", "密钥标识"),
        "trust.column.types": ("types", "证照类型"),
        "trust.column.state": ("state", "状态"),
        "trust.unknown_types": (
            "unknown licence types: {unknown}; the valid types are {valid}",
            "未知的证照类型：{unknown}；有效类型：{valid}",
        ),
        "trust.unknown_types_close": (
            "unknown licence types: {unknown} (did you mean {suggestions}?); the valid "
            "types are {valid}",
            "未知的证照类型：{unknown}（是否为 {suggestions}？）；有效类型：{valid}",
        ),
        "issue.field_twice": ("a --field name is given twice", "同一个 --field 字段名给了两次"),
        "issue.wrote_status": (
            "wrote {path} (status list #{sequence}, valid for a day)",
            "已写入 {path}（状态列表 #{sequence}，有效期一天）",
        ),
        "issue.wrote_credential": (
            "wrote {path} (the holder's credential: give it to the holder's app only)",
            "已写入 {path}（持证人的凭证：只能交给持证人的应用）",
        ),
        "revoke.suspend_or_reinstate": (
            "give --suspend or --reinstate, not both",
            "--suspend 和 --reinstate 只能给一个",
        ),
        "revoke.not_issued": (
            "that licence was not issued with this status state",
            "该证照不是用此状态文件签发的",
        ),
        "revoke.done": ("{id} is now {status}; wrote {path}", "{id} 现为{status}；已写入 {path}"),
        "status.revoked": ("revoked", "吊销"),
        "status.suspended": ("suspended", "暂停"),
        "status.valid": ("valid", "有效"),
        # -- verifying: what, titles, what a valid report established -------------------
        "what.licence": ("a licence", "电子证照"),
        "what.presentation": ("a presentation", "出示内容"),
        "what.pdf": ("a licence PDF", "证照 PDF"),
        "title.licence": ("licence ({kind})", "电子证照（{kind}）"),
        "kind.payload": ("payload", "二维码文本"),
        "kind.image": ("image", "二维码图片"),
        "ok.licence": (
            "the licence is genuine, current and not revoked",
            "电子证照真实、在有效期内，且未被吊销",
        ),
        "ok.licence_partly": (
            "the licence is genuine and current",
            "电子证照真实且在有效期内",
        ),
        "verify.status_or_skip": (
            "give --status or --unsafe-skip-status, not both",
            "--status 和 --unsafe-skip-status 只能给一个",
        ),
        "verify.needs_anchor": (
            "verifying {what} needs --trust and --anchor: this device's verifier state "
            "({state}) holds no trust anchor",
            "验证{what}需要 --trust 和 --anchor：本设备的验证状态（{state}）中没有信任锚",
        ),
        "verify.needs_trust_with_anchor": (
            "verifying {what} needs --trust with --anchor",
            "验证{what}时，--anchor 需与 --trust 一起给出",
        ),
        "verify.needs_trust_list": (
            "verifying {what} needs a trust list: give --trust and --anchor, or run "
            "`govkit verifier sync` or `govkit verifier import` (state: {state})",
            "验证{what}需要信任列表：请给出 --trust 和 --anchor，或先运行 "
            "`govkit verifier sync` 或 `govkit verifier import`（验证状态：{state}）",
        ),
        "verify.no_such_input": (
            "{input}: no such file (nor a token or a GK1:/GKP1: text)",
            "{input}：文件不存在（也不是身份令牌或 GK1:/GKP1: 文本）",
        ),
        "verify.unknown_kind": (
            "cannot tell what INPUT is; name the kind: verify "
            "licence|presentation|pdf|token|detached INPUT",
            "无法判断输入是什么；请指明类型：verify licence|presentation|pdf|token|detached INPUT",
        ),
        "verify.option_not_for_kind": (
            "{flag} does not apply to a {kind}; see govkit verify {kind} --help",
            "{flag} 不适用于 {kind}；请查看 govkit verify {kind} --help",
        ),
        "verify.kind_input": (
            "expected [KIND] INPUT, with KIND one of {kinds}",
            "应为 [KIND] INPUT，KIND 为以下之一：{kinds}",
        ),
        "verify.token_profile": (
            "for a token, --profile is access or id",
            "验证身份令牌时，--profile 只能是 access 或 id",
        ),
        "verify.pdf_needs_ca": (
            "verifying a signed PDF needs --ca (the trusted CA certificate)",
            "验证签名 PDF 需要 --ca（受信任的 CA 证书）",
        ),
        "verify.detached_needs_key": (
            "verifying a detached signature needs --key (signers' public keys)",
            "验证分离签名需要 --key（签名者的公钥）",
        ),
        "title.signed_pdf": ("signed PDF", "签名 PDF"),
        "title.licence_pdf": ("licence PDF", "证照 PDF"),
        "title.detached": ("detached signature", "分离签名"),
        "ok.signed_pdf": (
            "the PDF signature and its contents are genuine",
            "PDF 签名及其内容真实",
        ),
        "ok.licence_pdf": (
            "signed by a certificate the trust list authorises for the licence's issuer; the "
            "embedded licence is genuine, current and not revoked; the printed page is only a "
            "picture of the signed payload",
            "由信任列表授权代表签发机关的证书签名；内嵌的电子证照真实、在有效期内，且未被吊销；"
            "打印的页面只是已签名内容的图像",
        ),
        "ok.licence_pdf_partly": (
            "signed by a certificate the trust list authorises for the licence's issuer; the "
            "embedded licence is genuine and current; the printed page is only a picture of "
            "the signed payload",
            "由信任列表授权代表签发机关的证书签名；内嵌的电子证照真实且在有效期内；"
            "打印的页面只是已签名内容的图像",
        ),
        "ok.detached": (
            "{count} signature(s) verify, in order",
            "{count} 个签名按顺序验证通过",
        ),
        "title.presentation": ("presentation", "出示内容"),
        "ok.presentation": (
            "a genuine, current licence, not revoked, shown by its holder's device just now",
            "真实、在有效期内且未被吊销的电子证照，刚由持证人的设备出示",
        ),
        "ok.presentation_partly": (
            "a genuine, current licence, shown by its holder's device just now",
            "真实且在有效期内的电子证照，刚由持证人的设备出示",
        ),
        "title.token": ("token", "身份令牌"),
        "ok.token": (
            "the token is genuine and meets every check",
            "身份令牌真实，且通过每一项检查",
        ),
        "verify.token_needs": ("verifying a token needs {missing}", "验证身份令牌需要 {missing}"),
        # -- govkit oidc check ---------------------------------------------------------
        "title.oidc_provider": ("OpenID discovery document", "OpenID 发现文档"),
        "ok.oidc_fapi2": (
            "the discovery document announces FAPI 2.0 (it passed every check); the "
            "provider's behaviour was NOT tested",
            "发现文档公布支持 FAPI 2.0（通过每一项检查）；未测试身份提供方的实际行为",
        ),
        "oidc.fetch_failed": (
            "{issuer}: the discovery document could not be fetched: {reason}",
            "{issuer}：无法获取发现文档：{reason}",
        ),
        # -- the audit log --------------------------------------------------------------
        "ok.audit": ("{size} entries verified", "{size} 条审计日志条目验证通过"),
        "audit.verifying": ("verifying", "正在验证"),
        "audit.no_store": ("{path}: no such audit store", "{path}：审计日志存储不存在"),
        "audit.not_a_log": ("{store} is not a govkit audit log", "{store} 不是 govkit 审计日志"),
        "audit.no_vkey": (
            "no trusted verifier key: pass --vkey VKEY (the log's published verifier key, "
            "a string or a file) or set GOVKIT_AUDIT_VKEY; a key stored next to the log is "
            "never trusted, since whoever can rewrite the log can replace it",
            "没有受信任的验证公钥：请用 --vkey VKEY 给出日志公布的验证公钥（字符串或文件），"
            "或设置 GOVKIT_AUDIT_VKEY；日志旁边存放的公钥从不被信任，因为能改写日志的人也能替换它",
        ),
        "audit.no_vkey_file": ("{path}: no such vkey file", "{path}：验证公钥文件不存在"),
        "audit.no_key": (
            "no note signing key: pass --key or set GOVKIT_AUDIT_KEY_FILE",
            "没有检查点签名密钥：请给出 --key 或设置 GOVKIT_AUDIT_KEY_FILE",
        ),
        "audit.wrote_keys": (
            "wrote {path} (keep it secret) and {vkey} (publish it)",
            "已写入 {path}（请保密）和 {vkey}（请公布）",
        ),
        "audit.index_or_from_size": (
            "give either INDEX (inclusion) or --from-size (consistency)",
            "请给出 INDEX（包含证明）或 --from-size（一致性证明）之一",
        ),
        "audit.wrote_export": ("wrote {path} ({count} entries)", "已写入 {path}（{count} 条）"),
        "audit.no_pseudonym_key": (
            "no pseudonym key: pass --pseudonym-key-file or set GOVKIT_AUDIT_PSEUDONYM_KEY_FILE",
            "没有假名密钥：请给出 --pseudonym-key-file 或设置 GOVKIT_AUDIT_PSEUDONYM_KEY_FILE",
        ),
        "audit.erased": (
            "erased {count} clear value(s); proofs are unaffected",
            "已删除 {count} 个明文值；证明不受影响",
        ),
        **{
            f"audit.column.{name}": (name, chinese)
            for name, chinese in (
                ("index", "序号"),
                ("time", "时间"),
                ("actor", "操作者"),
                ("action", "操作"),
                ("resource", "对象"),
                ("outcome", "结果"),
            )
        },
        # -- store schemas --------------------------------------------------------------
        "db.no_store": ("{path}: no such store", "{path}：存储不存在"),
        "db.absent": ("not in this store", "不在此存储中"),
        "db.redis_presence": (
            "not checked: whether anything is stored under the prefix {prefix} (Redis has "
            "no tables; a prefix no application uses purges nothing)",
            "未检查：前缀 {prefix} 下是否存有数据（Redis 没有表；"
            "没有应用使用的前缀不会清理任何内容）",
        ),
        "db.unrecorded": (" (unrecorded)", "（未记录）"),
        "db.upgraded": ("upgraded", "已升级"),
        "db.recorded": ("recorded", "已记录"),
        "db.current": ("current", "已是最新"),
        "db.not_a_store": (
            "{store} holds no govkit store ({components})",
            "{store} 中没有 govkit 存储（{components}）",
        ),
        "db.done": (
            "{label}: {count} component(s) upgraded or recorded, the rest current",
            "{label}：{count} 个组件已升级或记录，其余已是最新",
        ),
        "db.column.component": ("component", "组件"),
        "db.column.found": ("version found", "原版本"),
        "db.column.now": ("version now", "现版本"),
        "db.column.done": ("done", "处理"),
        "db.column.removed": ("removed or erased", "已删除或清除"),
        "db.purged": (
            "{label}: {count} expired entries removed or erased (as of {at})",
            "{label}：已删除或清除 {count} 条过期记录（截至 {at}）",
        ),
        "db.not_a_state": (
            "{store} is not a verifier state (no state.json)",
            "{store} 不是核验状态目录（没有 state.json）",
        ),
        "db.verifier_only": (
            "a directory is a verifier state: only --component verifier applies to it",
            "目录是核验状态：只能使用 --component verifier",
        ),
        "db.redis_components": (
            "a Redis server holds only these components: {components}",
            "Redis 服务器上只有这些组件：{components}",
        ),
        "db.prefix_redis_only": (
            "--prefix applies only to a redis://, rediss:// or unix:// STORE",
            "--prefix 只适用于 redis://、rediss:// 或 unix:// 形式的 STORE",
        ),
        # -- payments ---------------------------------------------------------------------
        "payments.handler_spec": (
            "{option} takes MODULE:NAME, e.g. myapp.payments:handle",
            "{option} 的格式为 MODULE:NAME，例如 myapp.payments:handle",
        ),
        "payments.handler_load": (
            "cannot load {option} {spec}: {error}",
            "无法加载 {option} {spec}：{error}",
        ),
        "payments.handler_not_callable": (
            "{option} {spec} is not callable",
            "{option} {spec} 不可调用",
        ),
        "payments.no_inbox": ("no inbox at {url}", "{url} 处没有支付收件箱"),
        "payments.conflict": (
            "conflict {provider}:{event}: stored {amount} {currency} (content {digest}), "
            "then {other} (content {other_digest})",
            "冲突 {provider}:{event}：已保存 {amount} {currency}（内容 {digest}），"
            "之后收到 {other}（内容 {other_digest}）",
        ),
        "payments.waits": (
            " (it was received with a handler: it waits for `govkit payments worker` or an "
            "inbox with your handler, or pass --handler/--transactional-handler)",
            "（该事件接收时配有处理程序：需等待 `govkit payments worker` 或带有处理程序的收件箱，"
            "或给出 --handler/--transactional-handler）",
        ),
        "payments.replayed": (
            "{event}: {state} (attempts {attempts})",
            "{event}：{state}（尝试 {attempts} 次）",
        ),
        "payments.released": (
            "{event}: released by {actor}; now {state}",
            "{event}：已由 {actor} 解除隔离；现为 {state}",
        ),
        "payments.positive": ("{option} must be a positive number", "{option} 必须是正数"),
        "payments.worker_on": (
            "worker on {url}: re-driving pending, failed and stranded events (SIGTERM or "
            "Ctrl-C stops it after the current event)",
            "工作进程运行于 {url}：重新处理待处理、失败和滞留的事件（SIGTERM 或 Ctrl-C "
            "会在当前事件完成后停止）",
        ),
        "payments.worker_stopped": ("worker stopped cleanly", "工作进程已正常停止"),
        "payments.reconciled": (
            "{matched}/{lines} payments match, {refunds}/{refund_lines} refunds match",
            "{matched}/{lines} 笔支付一致，{refunds}/{refund_lines} 笔退款一致",
        ),
        **{
            f"payments.column.{name}": (english, chinese)
            for name, english, chinese in (
                ("provider", "provider", "支付渠道"),
                ("event", "event", "事件"),
                ("kind", "kind", "类型"),
                ("order", "order", "订单"),
                ("amount", "amount", "金额"),
                ("cur", "cur", "币种"),
                ("state", "state", "状态"),
                ("result", "result", "结果"),
                ("deliv", "deliv.", "投递"),
                ("difference", "difference", "差异"),
                ("refund", "refund", "退款"),
                ("bill", "bill (fen)", "对账单（分）"),
                ("inbox", "inbox (fen)", "收件箱（分）"),
                ("delivery", "delivery", "投递"),
                ("status", "status", "状态"),
                ("http", "http", "HTTP"),
                ("code", "code", "代码"),
            )
        },
        # -- the demo -------------------------------------------------------------------
        "demo.not_empty": (
            "{path} is not empty; use --force to run the demo in it (it replaces the files "
            "an earlier run wrote and appends to its audit log)",
            "{path} 不是空目录；如需在其中运行演示请使用 --force（会替换上次运行写入的文件，"
            "并追加到其审计日志）",
        ),
        "demo.step": ("[{number}/{total}] {name}", "[{number}/{total}] {name}"),
        "demo.valid": ("valid", "有效"),
        "demo.accepted": ("accepted", "接受"),
        "demo.revoked_example": ("(revoked example)", "（吊销示例）"),
        "demo.from_png": ("{profile}, from the PNG", "{profile}，来自 PNG 图片"),
        "demo.same_qr": ("the same QR again", "再次出示同一二维码"),
        "demo.login.login": (
            "login: PAR, PKCE, DPoP, private_key_jwt",
            "登录：PAR、PKCE、DPoP、private_key_jwt",
        ),
        "demo.login.check": ("govkit oidc check", "govkit oidc check（FAPI 2.0 检查）"),
        "demo.login.rotated": ("refresh token rotated", "刷新令牌已轮换"),
        "demo.login.not_rotated": ("refresh token NOT rotated", "刷新令牌未轮换"),
        "demo.login.same_subject": ("renewed, same subject", "已续期，主体相同"),
        "demo.login.announced": (
            "announced (document only; behaviour not tested)",
            "已公布（仅检查文档，未测试实际行为）",
        ),
        "demo.login.same_callback": ("the same callback again", "再次使用同一回调"),
        "demo.login.mix_up": ("a callback naming another provider", "回调声称来自另一身份提供方"),
        "demo.login.backchannel": ("back-channel logout token", "后台通道登出令牌"),
        "demo.login.backchannel_again": ("the same logout token again", "再次使用同一登出令牌"),
        "demo.instances.first": (
            "DPoP-bound token with its proof",
            "DPoP 绑定令牌及其证明",
        ),
        "demo.instances.replay": (
            "the same token and proof again (shared replay store)",
            "再次出示同一令牌和证明（共享的防重放存储）",
        ),
        "demo.instances.fresh": ("the same token, a new proof", "同一令牌，新的证明"),
        "demo.instances.revoked": (
            "after A revoked the token (shared revocation store)",
            "A 吊销该令牌之后（共享的吊销存储）",
        ),
        "demo.instances.purge_now": ("purge now", "立即清理"),
        "demo.instances.purge_later": ("purge one hour later", "一小时后清理"),
        "demo.instances.removed": (
            "replay {replay}, revocation {revocation} removed",
            "已删除：防重放 {replay} 条，吊销 {revocation} 条",
        ),
        "demo.instances.log": (
            "structured log, JSON lines: {path}",
            "结构化日志（JSON 行）：{path}",
        ),
        "demo.instances.records": ("{count} records", "{count} 条记录"),
        **{
            f"demo.step.{name}": (name.replace("_", " "), chinese)
            for name, chinese in (
                ("keys", "密钥"),
                ("citizen_activity", "市民操作记录"),
                ("identity", "身份令牌"),
                ("login", "统一身份认证登录"),
                ("certificates", "电子证照"),
                ("presentations", "出示"),
                ("documents", "证照 PDF"),
                ("payments", "支付回调"),
                ("instances", "多实例"),
                ("audit", "审计日志"),
            )
        },
        **{
            f"demo.title.{name}": (english, chinese)
            for name, english, chinese in (
                ("keys", "Keys", "密钥"),
                (
                    "identity",
                    "Identity tokens (service requires substantial)",
                    "身份令牌（服务要求 substantial 认证等级）",
                ),
                (
                    "licences",
                    "Electronic licences (QR pictures verified offline)",
                    "电子证照（二维码图片离线验证）",
                ),
                (
                    "presentations",
                    "Presentations (selective disclosure, bound to the holder's phone)",
                    "出示（选择性披露，绑定持证人的手机）",
                ),
                (
                    "pdfs",
                    "Signed licence PDFs (PAdES B-B, verified)",
                    "已签名的证照 PDF（PAdES B-B，已验证）",
                ),
                ("payments", "Payments (govkit payments show)", "支付回调（govkit payments show）"),
                (
                    "login",
                    "Real-name login (OpenID Connect, FAPI 2.0 profile)",
                    "实名登录（OpenID Connect，FAPI 2.0 安全规范）",
                ),
                (
                    "instances",
                    "Many instances (two verifiers sharing one SQLite store)",
                    "多实例（两个验证实例共享同一 SQLite 存储）",
                ),
                ("audit", "Audit log (govkit audit verify)", "审计日志（govkit audit verify）"),
            )
        },
        **{
            f"demo.column.{name}": (english, chinese)
            for name, english, chinese in (
                ("alg", "alg", "算法"),
                ("kid", "kid", "密钥标识"),
                ("private_key", "private key", "私钥"),
                ("assurance", "assurance", "认证等级"),
                ("amr", "amr", "认证方式"),
                ("verification", "verification", "验证结果"),
                ("type", "type", "类型"),
                ("name_zh", "名称", "名称"),
                ("qr_version", "QR version (M)", "二维码版本（M）"),
                ("size", "size", "大小"),
                ("provider", "provider", "支付渠道"),
                ("delivery", "delivery", "投递"),
                ("status", "status", "状态"),
                ("http", "http", "HTTP"),
                ("code", "code", "代码"),
                ("presentation", "presentation", "出示"),
                ("disclosed", "disclosed", "披露的字段"),
                ("step", "step", "步骤"),
                ("detail", "detail", "说明"),
                ("instance", "instance", "实例"),
                ("result", "result", "结果"),
            )
        },
        # -- identity tokens ------------------------------------------------------------
        "token.claim_twice": ("a --claim name is given twice", "同一个 --claim 名称给了两次"),
        "token.issued": (
            "issued an {profile} token signed by {kid} ({alg})",
            "已签发 {profile} 身份令牌，签名密钥 {kid}（{alg}）",
        ),
        # -- presenting -----------------------------------------------------------------
        "present.nonce_hex": ("--nonce must be hex", "--nonce 必须是十六进制"),
        "present.nonce_size": ("--nonce must be 8 to 64 bytes", "--nonce 必须是 8 到 64 字节"),
        "present.disclose_or_profile": (
            "give --disclose or --profile (one of them)",
            "请给出 --disclose 或 --profile（二者之一）",
        ),
        "present.unknown_items": (
            "unknown items {unknown}; this licence has {items}",
            "未知的字段 {unknown}；此证照包含 {items}",
        ),
        "present.profile_choices": (
            "--profile must be one of {profiles}",
            "--profile 必须是以下之一：{profiles}",
        ),
        # -- signing --------------------------------------------------------------------
        "type.box": ("expected four numbers: X1,Y1,X2,Y2", "应为四个数字：X1,Y1,X2,Y2"),
        "sign.needs_cert": (
            "signing a PDF needs --cert (or --detached)",
            "签署 PDF 需要 --cert（或 --detached）",
        ),
        "sign.needs_purpose": ("a detached signature needs --purpose", "分离签名需要 --purpose"),
        "sign.signed": ("signed ({how}) -> {path}", "已签名（{how}）-> {path}"),
        # -- the verifier state ---------------------------------------------------------
        "verifier.timeout_range": (
            "--timeout must be between 0 and 300 seconds",
            "--timeout 必须在 0 到 300 秒之间",
        ),
        "verifier.import_nothing": (
            "give --trust, --status or both",
            "请给出 --trust、--status 或两者",
        ),
        "verifier.synced": (
            "trust list #{sequence} ({outcome}); {changed} of {total} status lists updated",
            "信任列表 #{sequence}（{outcome}）；{total} 个状态列表中更新了 {changed} 个",
        ),
        "verifier.no_status_url": (
            "; {count} issuers name no status list",
            "；{count} 个签发机关未指明状态列表",
        ),
        "verifier.the_trust_list": ("the trust list", "信任列表"),
        "verifier.the_status_list_of": ("the status list of {uscc}", "{uscc} 的状态列表"),
        "verifier.failed": (
            "FAILED: {who}: {message} [{reason}]",
            "失败：{who}：{message} [{reason}]",
        ),
        "verifier.imported": ("imported into {path}", "已导入 {path}"),
        "verifier.state_path": ("verifier state: {path}", "验证状态：{path}"),
        "verifier.empty": (
            "empty: no trust anchor (run `govkit verifier sync` or `import`)",
            "空：没有信任锚（请运行 `govkit verifier sync` 或 `import`）",
        ),
        "verifier.anchors": ("anchors: {anchors}", "信任锚：{anchors}"),
        "verifier.next_anchors": (
            "next anchors (introduced): {anchors}",
            "下一批信任锚（已引入）：{anchors}",
        ),
        "verifier.trust_line": (
            "trust list #{sequence}: issued {issued} ({age} ago), expires {expires}, {state}; "
            "{issuers} issuers, {without} without a status list held",
            "信任列表 #{sequence}：签发于 {issued}（{age}前），有效期至 {expires}，{state}；"
            "{issuers} 个签发机关，其中 {without} 个没有已持有的状态列表",
        ),
        "verifier.not_listed": (", not on the trust list", "，不在信任列表中"),
        "verifier.status_lists": (
            "status lists: {held} held, {stale} stale",
            "状态列表：持有 {held} 个，过期 {stale} 个",
        ),
        "verifier.log_line": (
            "audit log {origin}: checkpoint of size {size} held",
            "审计日志 {origin}：持有大小为 {size} 的检查点",
        ),
        "verifier.clock_line": ("clock: {detail}", "设备时钟：{detail}"),
        "verifier.state_stale": ("STALE ({reason})", "已过期（{reason}）"),
        "verifier.state_expired": ("EXPIRED", "已过期"),
        "verifier.state_current": ("current", "当前有效"),
        "age.future": ("in the future", "未来时间"),
        **{
            f"verifier.column.{name}": (name, chinese)
            for name, chinese in (
                ("list", "列表"),
                ("issuer", "签发机关"),
                ("outcome", "结果"),
                ("sequence", "序号"),
                ("before", "之前"),
                ("reason", "原因"),
                ("age", "时长"),
                ("expires", "有效期至"),
                ("state", "状态"),
            )
        },
        **{
            f"list.{name}": (name, chinese)
            for name, chinese in (("trust", "信任列表"), ("status", "状态列表"))
        },
        **{
            f"outcome.{name}": (name, chinese)
            for name, chinese in (
                ("installed", "已安装"),
                ("updated", "已更新"),
                ("unchanged", "未变化"),
                ("not_modified", "未修改"),
                ("failed", "失败"),
            )
        },
        **{
            f"fetch.{name}": (name, chinese)
            for name, chinese in (
                ("http_status", "服务器返回错误状态"),
                ("timeout", "连接超时"),
                ("network", "网络错误"),
                ("too_large", "内容过大"),
                ("content_type", "内容类型不符"),
                ("redirect", "不允许的重定向"),
            )
        },
        # -- reports: verdicts, marks, what was not checked -------------------------
        "verdict.line": ("{title}: {verdict}", "{title}：{verdict}"),
        "verdict.valid": ("VALID", "有效"),
        "verdict.invalid": ("INVALID [{code}]", "无效 [{code}]"),
        "verdict.nothing_checked": ("INVALID (nothing was checked)", "无效（未做任何检查）"),
        "mark.passed": ("✓", "✓"),
        "mark.failed": ("✗", "✗"),
        "mark.not_checked": ("not checked", "未检查"),
        "report.failed": (
            "{label}: the {title} failed verification [{code}]",
            "{label}：{title}未通过验证 [{code}]",
        ),
        "report.failed_because": (
            "{label}: the {title} failed verification: {reason} [{code}]",
            "{label}：{title}未通过验证：{reason} [{code}]",
        ),
        "report.ok": ("{label}: {what}", "{label}：{what}"),
        "report.ok_partly": ("{label}: {what}; {unchecked}", "{label}：{what}；{unchecked}"),
        "report.genuine": ("the {title} is genuine", "{title}是真实的"),
        "unchecked.status": (
            "revocation was NOT checked (--unsafe-skip-status)",
            "未检查是否被吊销（--unsafe-skip-status）",
        ),
        "unchecked.licence_status": (
            "the licence's revocation was NOT checked (--unsafe-skip-status)",
            "未检查证照是否被吊销（--unsafe-skip-status）",
        ),
        "unchecked.revocation": (
            "revocation was NOT checked (no revocation store)",
            "未检查是否被撤销（没有撤销记录存储）",
        ),
        "unchecked.columns": (
            "the entries' query columns were NOT checked (--deep)",
            "未检查条目的查询列（--deep）",
        ),
        "unchecked.consistency": (
            "consistency with a saved checkpoint was NOT checked (--checkpoint)",
            "未检查与已保存检查点的一致性（--checkpoint）",
        ),
        "unchecked.purpose": (
            "the signatures' purpose was NOT checked (--purpose)",
            "未检查签名的用途（--purpose）",
        ),
        "unchecked.roles": (
            "the chain's roles were NOT checked (--roles)",
            "未检查签名链的角色（--roles）",
        ),
        "unchecked.timestamp": (
            "the signing time is the signer's claim: no trusted timestamp",
            "签名时间仅为签名者自称：没有可信时间戳",
        ),
        "unchecked.origin": ("the log's origin was NOT checked", "未检查日志的来源标识"),
        "unchecked.merchant": ("the merchant was NOT checked", "未检查商户"),
        "unchecked.other": ("{name} was NOT checked", "未检查{name}"),
        # -- the names of checks (a name not listed is shown as it is) -------------
        **{
            f"check.{name}": (name, chinese)
            for name, chinese in (
                ("input", "输入"),
                ("format", "格式"),
                ("trust", "信任列表"),
                ("signature", "签名"),
                ("signatures", "签名"),
                ("signed", "签名"),
                ("issuer", "签发机关"),
                ("validity", "有效期"),
                ("status", "吊销状态"),
                ("trust_freshness", "信任列表时效"),
                ("status_freshness", "状态列表时效"),
                ("clock", "设备时钟"),
                ("holder_binding", "持证人设备"),
                ("disclosures", "出示字段"),
                ("disclosure", "出示字段"),
                ("profile", "验证配置"),
                ("freshness", "时效"),
                ("nonce", "挑战值"),
                ("replay", "重放"),
                ("licence", "电子证照"),
                ("pdf_signer", "PDF 签名者"),
                ("coverage", "签名覆盖范围"),
                ("integrity", "完整性"),
                ("chain", "签名链"),
                ("purpose", "用途"),
                ("roles", "角色"),
                ("timestamp", "时间戳"),
                ("structure", "结构"),
                ("size", "大小"),
                ("header", "头部"),
                ("type", "类型"),
                ("algorithm", "算法"),
                ("key", "密钥"),
                ("claims", "声明"),
                ("subject", "主体"),
                ("expiry", "过期时间"),
                ("not_before", "生效时间"),
                ("issued_at", "签发时间"),
                ("audience", "受众"),
                ("token_id", "令牌编号"),
                ("assurance", "认证等级"),
                ("amr", "认证方式"),
                ("scope", "权限范围"),
                ("confirmation", "密钥绑定"),
                ("dpop", "DPoP 证明"),
                ("revocation", "撤销状态"),
                ("entries", "条目"),
                ("columns", "查询列"),
                ("nodes", "默克尔节点"),
                ("checkpoints", "检查点"),
                ("consistency", "一致性"),
                ("origin", "来源标识"),
                ("note", "检查点签名"),
                ("body", "内容"),
                ("merchant", "商户"),
                ("decryption", "解密"),
                ("callback", "支付回调"),
                ("digest", "摘要"),
                ("discovery", "发现文档"),
                ("issuer_identifier", "签发方标识"),
                ("https", "HTTPS 传输"),
                ("par", "推送授权请求（PAR）"),
                ("pkce", "PKCE 授权码保护"),
                ("client_auth", "客户端认证"),
                ("iss_parameter", "授权响应 iss 参数"),
                ("signing_algorithms", "签名算法（无 none、HMAC）"),
                ("fapi_algorithms", "FAPI 2.0 签名算法"),
            )
        },
    }
)


# -- help texts (``--help``) ---------------------------------------------------------------


def _licence_type_help() -> dict[str, str]:
    """The help texts naming every licence type (made from the registry, as the
    command makes them)."""
    from govkit.certificates import LicenceRegistry  # noqa: PLC0415

    types = ", ".join(LicenceRegistry.default().names())
    return {
        f"licence types it signs: {types}": f"其可签发的证照类型：{types}",
        f"Issue a signed licence and its QR picture. Licence types: {types}.": (
            f"签发已签名的电子证照及其二维码图片。证照类型：{types}。"
        ),
        f"one of: {types}": f"以下之一：{types}",
    }


#: The Chinese of each help text of the command, keyed by its English (the text given
#: as ``help=``, ``description=``, a group's title or description, and argparse's own
#: words). :func:`localise_help` puts them in place when the parser is built for ``zh``;
#: a test walks the parser of ``govkit``, ``govkit verify`` and ``govkit verifier`` and
#: fails on a text without its Chinese here. argparse fills ``%(...)s`` in help texts,
#: so a ``%`` of prose is written ``%%`` in both languages.
HELP: Final[Mapping[str, str]] = MappingProxyType(
    {
        # -- argparse's own words -----------------------------------------------------
        "show this help message and exit": "显示此帮助信息并退出",
        "positional arguments": "位置参数",
        "options": "选项",
        # -- govkit, and the options of every command ---------------------------------
        "govkit: identity tokens, e-licences, signatures, payment callbacks and a "
        "tamper-evident audit log for government apps.": (
            "govkit：面向政务应用的身份令牌、电子证照、电子签名、支付回调和防篡改审计日志。"
        ),
        "Exit codes: 0 ok/valid, 1 invalid, 2 usage, 3 environment or I/O error.": (
            "退出码：0 成功/有效，1 无效，2 用法错误，3 环境或读写错误。"
        ),
        "print machine-readable JSON": "输出机器可读的 JSON",
        "no status lines on stderr": "不在标准错误输出上打印状态行",
        "show tracebacks": "显示调用栈",
        "the language of messages: zh (Chinese) or en (English); default: zh when "
        "LC_ALL, LC_MESSAGES or LANG (the first set) starts with zh, else en": (
            "提示信息的语言：zh（中文）或 en（英文）；默认：LC_ALL、LC_MESSAGES 或 LANG"
            "（取第一个已设置的）以 zh 开头时为 zh，否则为 en"
        ),
        "print the version and exit": "显示版本号并退出",
        "generate, show and publish keys": "生成、查看和公布密钥",
        "issue identity tokens": "签发身份令牌",
        "create and sign trust lists": "创建并签署信任列表",
        "issue a signed licence and its QR": "签发已签名的电子证照及其二维码",
        "revoke or suspend a licence": "吊销或暂停电子证照",
        "show a selective licence: a dynamic QR revealing only chosen items": (
            "出示电子证照的部分内容：只披露所选字段的动态二维码"
        ),
        "sign a PDF (PAdES) or any file (detached signature)": (
            "签署 PDF（PAdES）或任意文件（分离签名）"
        ),
        "say whether a licence, presentation, PDF, token or signed file is genuine": (
            "判断电子证照、出示内容、PDF、身份令牌或已签名文件是否真实有效"
        ),
        "this device's verifier state: trusted lists, checkpoints, replays": (
            "本设备的验证状态：受信任的列表、检查点、重放记录"
        ),
        "the tamper-evident audit log": "防篡改审计日志",
        "payment callback inboxes": "支付回调收件箱",
        "store schemas (after installing govkit)": "存储结构（安装 govkit 后）",
        "OpenID Connect providers": "OpenID Connect 身份提供方",
        # -- govkit oidc check ----------------------------------------------------------
        "check whether a provider's discovery document meets FAPI 2.0": (
            "检查身份提供方的发现文档是否符合 FAPI 2.0"
        ),
        "the provider's issuer (https; http only for a loopback host)": (
            "身份提供方的签发方标识（https；仅本机回环地址可用 http）"
        ),
        "how long to wait for the provider: seconds or 10s, 1m (default 10s)": (
            "等待身份提供方的时长：秒数，或 10s、1m（默认 10s）"
        ),
        "run a guided tour of govkit into a folder": "在一个目录中运行 govkit 演示",
        # -- govkit verify --------------------------------------------------------------
        "govkit verify KIND INPUT, with KIND one of licence, presentation, pdf, token, "
        "detached; or govkit verify INPUT, which detects the kind. INPUT: a file, @FILE, "
        "- for stdin, or a token or GK1:/GKP1: text.": (
            "govkit verify KIND INPUT，KIND 为 licence（电子证照）、presentation（出示内容）、"
            "pdf、token（身份令牌）、detached（分离签名）之一；或 govkit verify INPUT，"
            "自动判断类型。INPUT：文件、@FILE、- 表示标准输入，或身份令牌、GK1:/GKP1: 文本。"
        ),
        "detect the kind (what govkit verify INPUT does); takes every kind's options": (
            "自动判断类型（即 govkit verify INPUT）；接受所有类型的选项"
        ),
        "verify a licence: GK1: payload, .txt file or QR picture": (
            "验证电子证照：GK1: 文本、.txt 文件或二维码图片"
        ),
        "verify a holder's presentation: GKP1: text or its picture": (
            "验证持证人的出示内容：GKP1: 文本或其图片"
        ),
        "verify a signed PDF (PAdES) and the licence it embeds": (
            "验证已签名的 PDF（PAdES）及其内嵌的电子证照"
        ),
        "verify an identity token (compact JWS)": "验证身份令牌（紧凑 JWS）",
        "verify any file, against a detached signature": "用分离签名验证任意文件",
        "the input, or a KIND then the input": "输入，或先给 KIND 再给输入",
        "the input, after a KIND": "输入（在 KIND 之后）",
        "as of this time": "按此时间验证",
        "JWKS (or PEM/JWK) file, or URL": "JWKS（或 PEM/JWK）文件，或 URL",
        "the exact iss required": "要求的签发者（iss），须完全一致",
        "this service's audience": "本服务的受众（aud）",
        "the lowest assurance accepted: low, substantial, high": (
            "接受的最低认证等级：low、substantial、high"
        ),
        "for RSA keys without one": "用于未注明算法的 RSA 密钥",
        "tokens: access (default) or id; presentations: a verifier profile "
        "(age-check, hotel-check-in, traffic-police)": (
            "身份令牌：access（默认）或 id；出示内容：验证配置"
            "（age-check、hotel-check-in、traffic-police）"
        ),
        "this device's verifier state (default: $GOVKIT_STATE, else "
        "$XDG_STATE_HOME/govkit or ~/.local/state/govkit)": (
            "本设备的验证状态目录（默认：$GOVKIT_STATE，否则为 $XDG_STATE_HOME/govkit "
            "或 ~/.local/state/govkit）"
        ),
        "the signed trust list": "已签名的信任列表",
        "trust-anchor public key (PEM), for a new state": "信任锚公钥（PEM），用于新的验证状态",
        "an issuer's signed status list (repeatable: one per issuer)": (
            "签发机关已签名的状态列表（可重复：每个签发机关一个）"
        ),
        "accept a trust list past its expiry": "接受已过有效期的信任列表",
        "do not check revocation (the report says it was NOT checked)": (
            "不检查是否被吊销（报告会注明未检查）"
        ),
        "the challenge this verifier showed": "本验证方出示的挑战值",
        "trusted CA certificate(s), PEM": "受信任的 CA 证书（PEM）",
        "the detached signature file": "分离签名文件",
        "a signer's public key (repeatable)": "签名者的公钥（可重复）",
        "the purpose signatures must have": "签名必须具有的用途",
        "required roles, e.g. sign,approve": "要求的角色，例如 sign,approve",
        "identity tokens": "身份令牌",
        "trust": "信任列表与状态列表",
        "presentations": "出示内容",
        "signed PDFs": "已签名的 PDF",
        "detached signatures": "分离签名",
        "the lists come from this device's verifier state; lists given here are checked "
        "against it (an older one is refused: trust.rollback) and replace older ones": (
            "列表来自本设备的验证状态；此处给出的列表会与其核对（比已持有的旧则被拒绝："
            "trust.rollback），较新的会替换旧的"
        ),
        "a file, @FILE, - for stdin, or text": "文件、@FILE、- 表示标准输入，或文本",
        "the verifier profile to check against": "核对所依据的验证配置",
        "access (default) or id": "access（默认）或 id",
        # -- govkit verifier --------------------------------------------------------------
        "fetch the trust list, then every issuer's status list": (
            "获取信任列表，再获取每个签发机关的状态列表"
        ),
        "take the trust list and status lists from files (devices never online)": (
            "从文件导入信任列表和状态列表（用于从不联网的设备）"
        ),
        "what the state holds, and what is stale": "查看验证状态持有的内容及已过期的内容",
        "Fetch the signed trust list from URL, then each issuer's status list from the "
        "status_url it names (conditional requests, at most 8 at once). A list that fails "
        "keeps the one held, marked stale; exit 3 when any failed.": (
            "从 URL 获取已签名的信任列表，再从其中每个签发机关指明的 status_url 获取状态列表"
            "（条件请求，最多同时 8 个）。获取失败的列表保留已持有的版本并标记为已过期；"
            "任一失败时退出码为 3。"
        ),
        "the trust list's URL": "信任列表的 URL",
        "a trust anchor's public key (repeatable; needed to start a new state, "
        "afterwards it must be one the state trusts)": (
            "信任锚公钥（可重复；新建验证状态时必需，之后必须是验证状态已信任的信任锚）"
        ),
        "per list: connecting, each read, and the whole body (default 60)": (
            "每个列表的超时秒数：连接、每次读取及整个内容（默认 60）"
        ),
        "an issuer's signed status list (repeatable)": "签发机关已签名的状态列表（可重复）",
        # -- govkit keys ------------------------------------------------------------------
        "generate a key pair (PATH and PATH.pub)": "生成密钥对（PATH 和 PATH.pub）",
        "show a key's kid, alg and JWK": "显示密钥的标识（kid）、算法和 JWK",
        "print a JWKS of public keys": "输出公钥的 JWKS",
        "JOSE algorithm (SM2 needs govkit[sm])": "JOSE 算法（SM2 需要安装 govkit[sm]）",
        "private key PEM path": "私钥 PEM 文件路径",
        "encrypt the private key with the password in VAR": "用环境变量 VAR 中的密码加密私钥",
        "replace existing files": "覆盖已有文件",
        "private PEM, public PEM or JWK file": "私钥 PEM、公钥 PEM 或 JWK 文件",
        "password of an encrypted key": "加密密钥的密码",
        "algorithm, for RSA keys without one": "算法，用于未注明算法的 RSA 密钥",
        "PEM or JWK files": "PEM 或 JWK 文件",
        "password of encrypted keys": "加密密钥的密码",
        # -- govkit token -----------------------------------------------------------------
        "issue a signed identity token": "签发已签名的身份令牌",
        "private key PEM": "私钥 PEM",
        "the iss claim": "iss 声明（签发者）",
        "a pseudonymous subject": "假名化的主体（sub）",
        "the aud claim": "aud 声明（受众）",
        "acr level": "认证等级（acr）",
        "lifetime: seconds or 10m, 1h (default 10m)": "有效时长：秒数，或 10m、1h（默认 10m）",
        "RFC 8176 method": "RFC 8176 认证方式",
        "space-separated scopes": "以空格分隔的权限范围",
        "token type (default access)": "令牌类型（默认 access）",
        "an extra claim (VALUE parsed as JSON when it is JSON)": (
            "附加声明（VALUE 是 JSON 时按 JSON 解析）"
        ),
        # -- govkit trust -------------------------------------------------------------------
        "a new, empty, signed list": "新建一个已签名的空信任列表",
        "add an issuer key and re-sign the list": "添加签发机关密钥并重新签署列表",
        "sign an edited (unsigned) trust list with the anchor": (
            "用信任锚签署编辑过的（未签名的）信任列表"
        ),
        "verify and print a trust list": "验证并显示信任列表",
        "the trust anchor's key": "信任锚密钥",
        "where to write the list": "列表的写入位置",
        "how long the list is valid (default 30d)": "列表的有效时长（默认 30d）",
        "password of the anchor key": "信任锚密钥的密码",
        "replace an existing file": "覆盖已有文件",
        "licence PDF signers": "证照 PDF 签名者",
        "the certificates allowed to sign this issuer's licence PDFs (repeatable; added to "
        "those it has). An issuer with none has no licence PDF accepted. For an issuer "
        "already on the list, give its listed --key again: the key entry is kept as it "
        "is.": (
            "允许代表该签发机关签署证照 PDF 的证书（可重复；在已有的基础上添加）。没有任何"
            "签名者的签发机关，其证照 PDF 一律不被接受。签发机关已在列表中时，请再次给出其已"
            "登记的 --key：该密钥条目保持不变。"
        ),
        "the trust list to update": "要更新的信任列表",
        "the issuing authority": "签发机关",
        "its unified social credit code": "其统一社会信用代码",
        "issuer key": "签发机关密钥",
        "a signing certificate (PEM or DER): its SPKI SHA-256 is listed": (
            "签名证书（PEM 或 DER）：登记其 SPKI 的 SHA-256"
        ),
        "SHA-256 of a certificate's DER SubjectPublicKeyInfo (64 hex digits)": (
            "证书 DER 编码 SubjectPublicKeyInfo 的 SHA-256（64 位十六进制数字）"
        ),
        "organizationIdentifier=VALUE or serialNumber=VALUE of the certificate subject": (
            "证书主体的 organizationIdentifier=VALUE 或 serialNumber=VALUE"
        ),
        "how long the re-signed list is valid (default 30d)": (
            "重新签署的列表的有效时长（默认 30d）"
        ),
        "the trust_list JSON body": "trust_list 的 JSON 内容",
        "the trust anchor's public key (PEM)": "信任锚公钥（PEM）",
        # -- govkit issue, revoke, present ----------------------------------------------
        "the environment variable holding its password": "存放其密码的环境变量",
        "a pseudonym or masked id": "假名或打码的证件号",
        "what --holder is (default pseudonym)": "--holder 的类型（默认 pseudonym）",
        "the type needs a raw id": "该证照类型需要未打码的证件号",
        "a field of the licence type (repeatable)": "证照类型的字段（可重复）",
        "default today": "默认今天",
        "the last day": "最后一天",
        "the issuer's status state (created if missing); every licence gets an index": (
            "签发机关的状态文件（不存在时创建）；每张证照分配一个序号"
        ),
        "also sign the status list (valid for a day) and write it here for verifiers": (
            "同时签署状态列表（有效期一天）并写到此处，供验证方使用"
        ),
        "PREFIX.txt/.png": "PREFIX.txt/.png 文件",
        "bind a selective licence to the holder's device; writes PREFIX.gks instead": (
            "将可选择披露的证照绑定到持证人的设备；改为写入 PREFIX.gks"
        ),
        "replace existing output files": "覆盖已有的输出文件",
        "the licence identifier": "电子证照标识",
        "the status state the licence was issued with": "签发该证照时使用的状态文件",
        "signed list": "已签名的状态列表",
        "suspend instead of revoke": "暂停而不是吊销",
        "mark valid again": "恢复为有效",
        "how long the signed status list is valid (default 1d)": (
            "已签名状态列表的有效时长（默认 1d）"
        ),
        "replace an existing --out file": "覆盖已有的 --out 文件",
        "CREDENTIAL is a GKS1: file from `govkit issue --device-key`. Disclose items by "
        "name (--disclose) or what a verifier profile requires (--profile).": (
            "CREDENTIAL 是 `govkit issue --device-key` 生成的 GKS1: 文件。按名称披露字段"
            "（--disclose），或披露验证配置要求的字段（--profile）。"
        ),
        "the holder's GKS1: credential file": "持证人的 GKS1: 凭证文件",
        "the holder's device key the credential is bound to": "凭证所绑定的持证人设备密钥",
        "password of the device key": "设备密钥的密码",
        "item names to reveal": "要披露的字段名",
        "reveal what this profile requires": "披露此验证配置要求的字段",
        "the verifier's challenge, if it shows one": "验证方的挑战值（如有）",
        "write PREFIX.txt and .png": "写入 PREFIX.txt 和 .png",
        # -- govkit sign ----------------------------------------------------------------------
        "A PDF with --cert gets a PAdES signature (FILE.signed.pdf); any other file, or "
        "--detached, gets a detached JWS signature file (FILE.sig).": (
            "给出 --cert 时 PDF 获得 PAdES 签名（FILE.signed.pdf）；其他文件，或使用 "
            "--detached 时，生成分离的 JWS 签名文件（FILE.sig）。"
        ),
        "PDF (PAdES)": "PDF 文件（PAdES）",
        "the PDF or file to sign": "要签名的 PDF 或文件",
        "PEM key": "PEM 密钥",
        "variable holding the key password": "存放密钥密码的环境变量",
        "output file": "输出文件",
        "replace OUT if it exists (--append: SIG is updated)": (
            "OUT 已存在时覆盖（--append 时更新 SIG）"
        ),
        "the signer's certificate": "签名者的证书",
        "issuing CA certificate(s)": "签发 CA 的证书",
        "the PAdES level (default B-B)": "PAdES 级别（默认 B-B）",
        "RFC 3161 timestamp authority (B-T, B-LT)": "RFC 3161 时间戳服务（B-T、B-LT）",
        "the signature's stated reason": "签名所述的理由",
        "a visible red seal with this name (in Chinese)": "带此名称（中文）的可见红色印章",
        "where the seal goes, in points from the lower-left corner": (
            "印章位置，以距左下角的点数表示"
        ),
        "-1: the last": "-1 表示最后一页",
        "detached even for a PDF": "即使是 PDF 也生成分离签名",
        "what the signature is for": "签名的用途",
        "this signer's role (default sign)": "本签名者的角色（默认 sign）",
        "countersign this file": "对此签名文件加签",
        # -- govkit audit -----------------------------------------------------------------------
        "re-derive every hash and check every checkpoint": "重新计算每个哈希并检查每个检查点",
        "sign and print a checkpoint of the current tree": "签署并输出当前默克尔树的检查点",
        "create a checkpoint signing key (a C2SP note key)": "创建检查点签名密钥（C2SP note 密钥）",
        "print an inclusion or consistency proof": "输出包含证明或一致性证明",
        "list entries matching filters": "列出符合筛选条件的条目",
        "an offline-verifiable evidence package (JSON)": "可离线验证的证据包（JSON）",
        "erase a person's clear data (proofs stay valid)": "删除某人的明文数据（证明仍然有效）",
        "SQLite file path or postgresql:// URL": "SQLite 文件路径或 postgresql:// URL",
        "a checkpoint saved earlier (a file)": "之前保存的检查点（文件）",
        "trusted verifier key, a string or a file (repeatable; required unless "
        "GOVKIT_AUDIT_VKEY is set; a key next to the log is never used)": (
            "受信任的验证公钥，字符串或文件（可重复；未设置 GOVKIT_AUDIT_VKEY 时必需；"
            "日志旁边存放的公钥从不使用）"
        ),
        "also check query columns": "同时检查查询列",
        "note signing key file (PRIVATE+KEY+...)": "检查点签名密钥文件（PRIVATE+KEY+...）",
        "also write the checkpoint to this file": "同时将检查点写入此文件",
        "replace an existing --out": "覆盖已有的 --out",
        "the log's origin line (its name)": "日志的来源标识行（日志名称）",
        "Ed25519 (C2SP type 0x01) or SM2 (govkit[sm])": (
            "Ed25519（C2SP 类型 0x01）或 SM2（govkit[sm]）"
        ),
        "FILE and .vkey": "FILE 和 .vkey",
        "entry index (inclusion proof)": "条目序号（包含证明）",
        "tree size to prove against (default: now)": "证明所依据的树大小（默认：当前）",
        "old size (consistency proof)": "旧的大小（一致性证明）",
        "actor id (clear value or pseudonym)": "操作者标识（明文或假名）",
        "actor type": "操作者类型",
        "the action recorded": "所记录的操作",
        "resource type": "对象类型",
        "resource id (clear value or pseudonym)": "对象标识（明文或假名）",
        "correlation id": "关联标识",
        "the outcome": "结果",
        "ISO 8601 time with offset, inclusive": "带偏移的 ISO 8601 时间（含）",
        "ISO 8601 time with offset, exclusive": "带偏移的 ISO 8601 时间（不含）",
        "page after this index": "从此序号之后开始分页",
        "at most this many (100)": "最多这么多条（100）",
        "to match clear values": "用于匹配明文值",
        "write the package to this file": "将证据包写入此文件",
        "at most this many (all)": "最多这么多条（全部）",
        "the clear value to erase": "要删除的明文值",
        "why (recorded in the erasure event)": "原因（记录在删除事件中）",
        "the log's pseudonym secret": "日志的假名密钥",
        # -- govkit payments ------------------------------------------------------------------
        "counts and the latest events of an inbox": "支付回调收件箱的各状态计数和最新事件",
        "process a failed or pending event again": "重新处理失败或待处理的支付回调事件",
        "release a quarantined event after review": "审核后放行被隔离的支付回调事件",
        "re-drive pending, failed and stranded events until SIGTERM": (
            "持续重新处理待处理、失败和滞留的事件，直到收到 SIGTERM"
        ),
        "compare a daily trade bill with an inbox": "将每日交易对账单与支付回调收件箱对账",
        "sqlite path or postgresql:// URL": "SQLite 文件路径或 postgresql:// 地址",
        "only this state": "只显示此状态的事件",
        "at most this many events (20)": "最多显示这么多个事件（20）",
        "the inbox: sqlite path or postgresql:// URL": (
            "支付回调收件箱：SQLite 文件路径或 postgresql:// 地址"
        ),
        "the provider's event id": "支付渠道的事件编号",
        "when several use the id": "多个支付渠道使用同一编号时指定",
        "your at-least-once handler, handler(event)": "你的至少一次处理程序：handler(event)",
        "your transactional handler, handler(event, tx)": "你的事务处理程序：handler(event, tx)",
        "append to this audit log": "追加记录到此审计日志",
        "why (recorded)": "原因（会被记录）",
        "who reviewed it": "审核人",
        "the inbox keeps no order book": "该收件箱不保存订单簿",
        "how long an event taken by a worker stays its own (300)": (
            "工作进程领取的事件归其独占的时长（300）"
        ),
        "first wait when idle (1)": "空闲时的首次等待秒数（1）",
        "longest wait (30)": "最长等待秒数（30）",
        "one pass, then exit": "只处理一轮，然后退出",
        "the provider's daily trade bill": "支付渠道的每日交易对账单",
        "bill format": "对账单格式",
        # -- govkit db --------------------------------------------------------------------
        "bring every govkit store in STORE to this release's schema": (
            "将 STORE 中的每个 govkit 存储升级到本版本的数据库结构"
        ),
        "delete what has expired in STORE (and old inbox bodies); print the counts": (
            "清理 STORE 中已过期的数据（以及旧的收件箱报文）；显示清理数量"
        ),
        "only this component (repeatable; default: every one found in STORE)": (
            "只处理此组件（可重复；默认：STORE 中找到的每个组件）"
        ),
        "Delete what has expired at --at (default: now) in every govkit store found in "
        "STORE: replay entries, revoked-token entries and flows past their expiry; in a "
        "payment inbox, the bodies and headers of processed deliveries older than "
        "--body-retention (their SHA-256 is kept) and refused deliveries as old. STORE may "
        "be a verifier state directory: expired presentation replays and list files no "
        "longer held. STORE may be a redis://, rediss:// or unix:// URL: the replay, "
        "revocation and flow stores under --prefix. Nothing live is deleted.": (
            "清理 STORE 中找到的每个 govkit 存储在 --at 时刻（默认：当前）已过期的数据："
            "过期的重放记录、已撤销令牌记录和登录流程；在支付回调收件箱中，清理早于 "
            "--body-retention 的已处理投递的报文正文和报头（保留其 SHA-256），"
            "以及同样早的被拒投递。STORE 可以是验证状态目录：清理过期的出示重放记录和"
            "不再持有的列表文件。STORE 可以是 redis://、rediss:// 或 unix:// 地址："
            "清理 --prefix 下的重放、撤销和登录流程存储。不会删除任何仍有效的数据。"
        ),
        "SQLite file path, postgresql:// URL, verifier state directory, or redis://, "
        "rediss:// or unix:// URL": (
            "SQLite 文件路径、postgresql:// 地址、验证状态目录，"
            "或 redis://、rediss://、unix:// 地址"
        ),
        "as of this time (default: now)": "以此时刻为准（默认：当前）",
        "payments: keep delivery bodies this long (seconds, or with s, m, h, d; default 30d)": (
            "支付回调：投递报文的保留时长（秒数，或带 s、m、h、d；默认 30d）"
        ),
        "Redis: the stores' key prefix (default govkit:)": ("Redis：存储的键前缀（默认 govkit:）"),
        # -- govkit demo --------------------------------------------------------------------------
        "output folder": "输出目录",
        "run in a folder that is not empty (an earlier run's): replace its files": (
            "在非空目录（之前运行过的）中运行：替换其中的文件"
        ),
        # -- the licence types, as the command lists them ----------------------------------
        **_licence_type_help(),
    }
)


def help_texts(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str]]:
    """Every help text of ``parser`` and of its subcommands, as ``(command, text)``: the
    help of each option and argument, of each subcommand, descriptions, epilogues, and
    the titles and descriptions of option groups."""
    yield from _help_places(parser, parser.prog, None)


def localise_help(parser: argparse.ArgumentParser, lang: str) -> None:
    """Put the help texts of ``parser`` (and of its subcommands) in ``lang``, in place:
    each text found in :data:`HELP` is replaced by its Chinese for ``zh``, and
    ``usage:`` is said in Chinese too. English leaves the parser as it is."""
    if lang == "zh":
        for _ in _help_places(parser, parser.prog, HELP):
            pass


class _ChineseHelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter, with ``usage:`` in Chinese."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return _wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in _wrap(text, width - len(indent)))


#: A wide character (a line may break before or after it), a run of other non-space
#: characters (a word), or spaces.
_PIECES: Final = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|\s+"
)


#: Punctuation a line never starts with: it stays at the end of the line before.
_NO_BREAK_BEFORE: Final = frozenset("，。、；：）」』！？")


def _wrap(text: str, cells: int) -> list[str]:
    """``text`` in lines of at most ``cells`` display columns (a Chinese character takes
    two), broken at spaces or beside wide characters; a longer word has a line of its own."""
    lines: list[str] = []
    line, used = "", 0
    for piece in _PIECES.findall(" ".join(text.split())):
        width = display_width(piece)
        if piece.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        if line and used + width > max(cells, 1) and piece not in _NO_BREAK_BEFORE:
            lines.append(line.rstrip())
            line, used = "", 0
        line, used = line + piece, used + width
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _help_places(
    parser: argparse.ArgumentParser, path: str, chinese: Mapping[str, str] | None
) -> Iterator[tuple[str, str]]:
    """Each help text of the tree under ``parser``, with its command; with ``chinese``,
    each text is replaced by its entry there, when it has one (after it is yielded)."""

    def put(text: str) -> str:
        return text if chinese is None else chinese.get(text, text)

    if chinese is not None:
        parser.formatter_class = _ChineseHelpFormatter
    for attribute in ("description", "epilog"):
        text = getattr(parser, attribute)
        if text:
            yield path, text
            setattr(parser, attribute, put(text))
    for group in parser._action_groups:
        for attribute in ("title", "description"):
            text = getattr(group, attribute)
            if text:
                yield path, text
                setattr(group, attribute, put(text))
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            yield path, action.help
            action.help = put(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.help:
                    yield path, choice.help
                    choice.help = put(choice.help)
            for name, child in action.choices.items():
                yield from _help_places(child, f"{path} {name}", chinese)
