"""The ``govkit`` command in Chinese and English: its messages, the language, and tables.

Every line the command prints for people (verdicts, check names, status lines, hints,
its own errors, table headings) is looked up here by key with :func:`t`, in the
language the user reads. The language is ``--lang zh|en``, else the first of
``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set: Chinese when it starts with
``zh`` (``zh_CN.UTF-8``), English otherwise. Errors of the library are rendered with
:func:`govkit.errors.render_message`; the codes never change with the language.

Only the command reads the environment; the library never does. Help texts
(``--help``) are English.

Tables align by display width: a Chinese character takes two columns on a terminal
(East Asian Width ``W`` or ``F``), so :func:`pad` and :func:`table` count it twice.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "Key",
    "display_width",
    "language_from",
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
            "无法检查是否被吊销：请用 --status 提供签发机关当前的状态列表，或运行 govkit verifier sync",
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
            "请核对事件编号（govkit payments show 可列出事件）；若多个支付渠道使用同一编号，请加 --provider",
        ),
        # -- files ---------------------------------------------------------------------
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
            )
        },
    }
)
