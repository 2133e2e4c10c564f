"""The data inventory: every fact the privacy policy states, as typed, frozen data
(the types are `liveai.privacy.inventory_types`).

The policy text, the App Privacy label, the processing record, the retention sweeps, the
request register's SLA and the provider registry all read these facts, so they cannot
drift apart. Retention periods that a sweep enforces name the setting the sweep reads;
`liveai policy lint` fails when the setting and the inventory disagree.

Prose in the inventory may use ``{upload_retention_days}``, ``{log_retention_days}``,
``{sla_working_days}``, ``{api_host}``, ``{accounting_years}``, ``{transfer_records_years}`` and
``{request_records_years}``: the renderer fills them from the settings, the SLA below and
the operator facts (`liveai.privacy.facts`). The inventory holds only what the seed policy
or the code gives; what only the operator knows (legal names, contacts, cross-border
mechanisms, legal retention periods) is an operator fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveai.privacy.inventory_types import (
    AppleDisclosure,
    Category,
    Disclosure,
    Erasure,
    Inventory,
    LegalBasis,
    Operator,
    Retention,
    TableRule,
    Text,
    ThirdParty,
)

if TYPE_CHECKING:  # annotations only: reading the inventory need not load SQLAlchemy
    from sqlalchemy import MetaData

SLA_WORKING_DAYS = 15
"""Days (mainland working days) to answer a request or finish an account deletion."""


def user_linked_tables(metadata: MetaData) -> list[str]:
    """Tables with a column referencing users.id or named user_id (users itself included)."""
    linked = []
    for table in metadata.sorted_tables:
        refers = any(
            fk.target_fullname == "users.id"
            for column in table.columns
            for fk in column.foreign_keys
        )
        if table.name == "users" or refers or "user_id" in table.columns:
            linked.append(table.name)
    return sorted(linked)


def unclassified_user_tables(metadata: MetaData, inventory: Inventory | None = None) -> list[str]:
    """The user-linked tables the inventory says nothing about: each is a gap to close."""
    inv = inventory or DEFAULT_INVENTORY
    return [name for name in user_linked_tables(metadata) if inv.table_rule(name) is None]


APP_FUNCTIONALITY = "NSPrivacyCollectedDataTypePurposeAppFunctionality"
CONTRACT = LegalBasis(pipl="13(1)(2)", gdpr="6(1)(b)")
CONSENT = LegalBasis(pipl="13(1)(1)", gdpr="6(1)(a)")
LEGAL_OBLIGATION = LegalBasis(pipl="13(1)(3)", gdpr="6(1)(c)")
LEGITIMATE_SECURITY = LegalBasis(pipl="13(1)(2)", gdpr="6(1)(f)")

ACCOUNTING = Text(
    zh="会计与税务记录须依法保存(《个人信息保护法》第 47(2) 条;GDPR 第 17(3)(b) 条);"
    "仅保留金额与交易号,与用户的关联替换为不可逆的假名,除存储和安全保护外停止处理。",
    en="Accounting and tax records must be kept by law (PIPL art. 47(2); GDPR art. 17(3)(b)); "
    "only amounts and transaction ids remain, the user link is replaced by an irreversible "
    "pseudonym, and nothing but storage and security is done with them.",
)
ACCOUNTABILITY = Text(
    zh="证明请求与同意已依法处理(《个人信息保护法》第 50 条;GDPR 第 5(2)、7(1) 条);不含个人信息。",
    en="Proof that requests and consents were handled lawfully (PIPL art. 50; GDPR arts. 5(2), "
    "7(1)); holds no personal data.",
)
ACCOUNTABILITY_RECORDS = Text(
    zh="证明请求已依法办理(《个人信息保护法》第 50 条;GDPR 第 5(2) 条);保存期限届满后删除。",
    en="Proof that the request was handled lawfully (PIPL art. 50; GDPR art. 5(2)); deleted "
    "when the retention period ends.",
)
TOMBSTONE = Text(
    zh="账号行保留为已注销状态,以便其他表中的假名化记录仍可引用;姓名与邮箱清空。",
    en="The account row stays as an erased tombstone so pseudonymised records elsewhere still "
    "point at something; name and email are cleared.",
)
DELETE = Erasure("delete")
PSEUDONYMISE_ACCOUNTING = Erasure("pseudonymise", ACCOUNTING)

UPLOADS = Retention(
    "days",
    days=30,
    setting="upload_retention_days",
    text=Text(
        zh="生成完成后最长 {upload_retention_days} 天", en="up to {upload_retention_days} days"
    ),
)
LOGS = Retention(
    "days",
    days=30,
    setting="log_retention_days",
    text=Text(zh="{log_retention_days} 天", en="{log_retention_days} days"),
)
ACCOUNT = Retention(
    "account",
    text=Text(
        zh="账号存续期间;注销账号后 {sla_working_days} 个工作日内删除",
        en="while the account is active; deleted within {sla_working_days} business days of "
        "account deletion",
    ),
)
UNTIL_DELETED = Retention(
    "until_deleted",
    text=Text(
        zh="保留至您删除该作品(随即删除)或注销账号(注销后 {sla_working_days} 个工作日内删除)",
        en="until you delete the work (deleted at once) or your account (deleted within "
        "{sla_working_days} business days)",
    ),
)
LEDGER = Retention(
    "legal",
    years="accounting_years",
    text=Text(
        zh="账号存续期间;注销后假名化保存 {accounting_years} 年(会计与税务法规要求),期满后删除"
        "交易号与收据,仅留不关联任何人的金额",
        en="while the account is active; after deletion, pseudonymised for "
        "{accounting_years} years (accounting and tax law), then transaction ids and receipts "
        "are deleted and only amounts linked to no one remain",
    ),
)
RECORDS = Retention(
    "legal",
    years="request_records_years",
    text=Text(
        zh="请求办结后保存 {request_records_years} 年,作为依法处理的证明,期满后删除",
        en="{request_records_years} years after the request is closed, as proof it was "
        "handled lawfully, then deleted",
    ),
)
TRANSFER_RECORDS = Retention(
    "legal",
    years="transfer_records_years",
    text=Text(
        zh="账号存续期间;注销后假名化保存 {transfer_records_years} 年,期满后删除",
        en="while the account is active; after deletion, pseudonymised for "
        "{transfer_records_years} years, then deleted",
    ),
)
CONSENT_RECORDS = Retention(
    "legal",
    years="request_records_years",
    text=Text(
        zh="账号存续期间;注销后假名化保存 {request_records_years} 年,作为依法取得同意的证明,"
        "期满后删除",
        en="while the account is active; after deletion, pseudonymised for "
        "{request_records_years} years as proof the consents were obtained lawfully, then "
        "deleted",
    ),
)


def _account(
    key: str, name: Text, stored: str, apple: AppleDisclosure, recipients: tuple[str, ...]
) -> Category:
    return Category(
        key=key,
        name=name,
        section="1.1",
        purpose=Text(
            zh="提供注册登录、积分余额查询、生成记录关联、跨设备同步",
            en="registration, sign-in, credits lookup, history association, cross-device sync",
        ),
        legal_basis=CONTRACT,
        stored_in=(stored,),
        retention=ACCOUNT,
        recipients=recipients,
        exported=True,
        erasure=DELETE,
        apple=apple,
    )


TRANSFER_PROOF = Text(
    zh="记录向谁传输过数据,用于通知接收方(GDPR 第 19 条、《个人信息保护法》第 39 条);"
    "不含图片或提示词本身。",
    en="Records who received data, to notify recipients (GDPR art. 19; PIPL art. "
    "39); holds neither the image nor the prompt.",
)
TRANSFER_CATEGORY = Category(
    key="transfer_records",
    name=Text(
        zh="向第三方提供数据的记录(接收方、所在地、时间、数据项)",
        en="records of data sent to third parties (recipient, region, time, items)",
    ),
    section="1.2",
    purpose=Text(
        zh="记录谁收到过您的数据,以便将您的更正或删除请求告知接收方",
        en="record who received your data, so that recipients can be told of your correction "
        "or deletion requests",
    ),
    legal_basis=LEGAL_OBLIGATION,
    stored_in=("PostgreSQL data_transfers",),
    retention=TRANSFER_RECORDS,
    recipients=(),
    exported=True,
    erasure=Erasure("pseudonymise", TRANSFER_PROOF),
    apple=None,
)
CONSENT_PROOF = Text(
    zh="证明已依法取得您的同意(GDPR 第 7(1) 条);仅保留同意的种类、"
    "范围、时间、所示政策版本、来源、应用版本与请求号,工作人员备注删除,与用户的关联替换为不可逆的假名。",
    en="Proof that your consents were obtained lawfully (GDPR art. 7(1)); only "
    "the kind, scope, time, policy version shown, source, app version and request id remain, "
    "staff notes "
    "are removed and the user link is replaced by an irreversible pseudonym.",
)
CONSENT_CATEGORY = Category(
    key="consent_records",
    name=Text(
        zh="您的同意记录(种类、范围、时间、所示政策版本、来源与凭证)",
        en="your consent records (kind, scope, time, policy version shown, source and evidence)",
    ),
    section="1.6",
    purpose=Text(
        zh="按您的同意处理信息,并证明同意已依法取得",
        en="process data only as you consented, and prove the consents were obtained lawfully",
    ),
    legal_basis=LEGAL_OBLIGATION,
    stored_in=("PostgreSQL consents",),
    retention=CONSENT_RECORDS,
    recipients=(),
    exported=True,
    erasure=Erasure("pseudonymise", CONSENT_PROOF),
    apple=None,
)

CATEGORIES = (
    _account(
        "apple_user_id",
        Text(zh="Apple 用户标识", en="Apple user identifier"),
        "PostgreSQL identities",
        AppleDisclosure("NSPrivacyCollectedDataTypeUserID", (APP_FUNCTIONALITY,), linked=True),
        ("logto", "apple"),
    ),
    _account(
        "logto_sub",
        Text(zh="Logto 用户标识(JWT sub)", en="Logto subject (JWT sub)"),
        "PostgreSQL identities",
        AppleDisclosure("NSPrivacyCollectedDataTypeUserID", (APP_FUNCTIONALITY,), linked=True),
        ("logto",),
    ),
    _account(
        "email",
        Text(zh="邮箱(可选,可能为 Apple 私有中继邮箱)", en="optional email (may be a relay)"),
        "PostgreSQL users",
        AppleDisclosure(
            "NSPrivacyCollectedDataTypeEmailAddress", (APP_FUNCTIONALITY,), linked=True
        ),
        ("logto",),
    ),
    _account(
        "display_name",
        Text(zh="显示名称", en="display name"),
        "PostgreSQL users",
        AppleDisclosure("NSPrivacyCollectedDataTypeName", (APP_FUNCTIONALITY,), linked=True),
        ("logto",),
    ),
    Category(
        key="photos",
        name=Text(zh="上传的图片", en="uploaded photos"),
        section="1.2",
        purpose=Text(zh="生成 AI Live Photo 短视频", en="generate the AI Live Photo video"),
        legal_basis=CONTRACT,
        stored_in=("object storage uploads/", "PostgreSQL uploads"),
        retention=UPLOADS,
        recipients=("volcengine", "alibaba", "fal", "kling"),
        exported=True,
        erasure=DELETE,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypePhotosorVideos", (APP_FUNCTIONALITY,), linked=True
        ),
        sensitive=True,
        subjects=("users", "people_in_photos"),
        sensitive_notice=Text(
            zh="照片可能显示您或他人的面部,属于敏感个人信息。必要性:生成视频必须以您选择的照片为"
            "输入,没有照片无法提供该功能。对您的影响:照片一旦泄露或被非法使用,可能导致人格尊严"
            "受到侵害或者人身、财产安全受到危害;我们仅为生成与审核使用照片,并在上述期限内删除。",
            en="Photos may show your face or other people's faces and are sensitive personal "
            "information. Necessity: the video is generated from the photo you choose; without it "
            "the feature cannot work. Impact on you: if a photo leaked or were misused, your "
            "dignity or your personal or property safety could be harmed; we use photos only for "
            "generation and moderation and delete them within the period above.",
        ),
    ),
    Category(
        key="prompts",
        name=Text(zh="提示词与生成参数", en="prompts and generation parameters"),
        section="1.2",
        purpose=Text(zh="按您的要求生成视频", en="generate the video you asked for"),
        # Deleting a work removes its video at once; the task row, prompt included, stays
        # until the account is erased.
        legal_basis=CONTRACT,
        stored_in=("PostgreSQL tasks",),
        retention=ACCOUNT,
        recipients=("volcengine", "alibaba", "fal", "kling"),
        exported=True,
        erasure=DELETE,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypeOtherUserContent", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="result_videos",
        name=Text(zh="生成的视频", en="result videos"),
        section="1.2",
        purpose=Text(zh="向您交付生成结果", en="deliver the generated video to you"),
        legal_basis=CONTRACT,
        stored_in=("object storage results/", "PostgreSQL tasks"),
        retention=UNTIL_DELETED,
        recipients=(),
        exported=True,
        erasure=DELETE,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypePhotosorVideos", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="iap_receipts",
        name=Text(zh="IAP 收据、商品 ID 与交易 ID", en="IAP receipts, product and transaction ids"),
        section="1.3",
        purpose=Text(zh="处理内购并防止重复扣款", en="process purchases, prevent double-charging"),
        legal_basis=CONTRACT,
        stored_in=("PostgreSQL purchases",),
        retention=LEDGER,
        recipients=("app_store",),
        exported=True,
        erasure=PSEUDONYMISE_ACCOUNTING,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypePurchaseHistory", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="credits_ledger",
        name=Text(zh="积分余额与积分流水", en="credits balance and ledger"),
        section="1.3",
        purpose=Text(zh="记录积分变动", en="record credits changes"),
        legal_basis=CONTRACT,
        stored_in=("PostgreSQL ledger_accounts", "PostgreSQL ledger_transfers"),
        retention=LEDGER,
        recipients=(),
        exported=True,
        erasure=PSEUDONYMISE_ACCOUNTING,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypePurchaseHistory", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="access_logs",
        name=Text(zh="IP 地址与 User-Agent", en="IP address and User-Agent"),
        section="1.4",
        purpose=Text(zh="故障排查与滥用检测", en="troubleshooting and abuse detection"),
        legal_basis=LEGITIMATE_SECURITY,
        stored_in=("nginx access logs",),
        retention=LOGS,
        recipients=(),
        exported=False,
        erasure=Erasure(
            "retain",
            Text(
                zh="日志不含账号标识,无法按用户检索;{log_retention_days} 天后滚动删除。",
                en="The logs hold no account id and cannot be searched by user; they are "
                "rotated away after {log_retention_days} days.",
            ),
        ),
        # Apple has no "IP address" type; logs are not tied to an account (counsel).
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypeOtherDiagnosticData",
            (APP_FUNCTIONALITY,),
            linked=False,
            note="IP and User-Agent in nginx logs; Apple has no IP type (counsel)",
        ),
    ),
    Category(
        key="device_token",
        name=Text(zh="APNs Device Token", en="APNs device token"),
        section="1.4",
        purpose=Text(zh="发送生成完成提醒", en="deliver job-completion notifications"),
        legal_basis=CONSENT,
        stored_in=("PostgreSQL devices",),
        retention=ACCOUNT,
        recipients=("apns",),
        exported=True,
        erasure=DELETE,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypeDeviceID", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="app_versions",
        name=Text(zh="应用版本号与 iOS 版本号", en="app version and iOS version"),
        section="1.4",
        purpose=Text(zh="故障排查", en="troubleshooting"),
        legal_basis=LEGITIMATE_SECURITY,
        stored_in=("PostgreSQL devices",),
        retention=ACCOUNT,
        recipients=(),
        exported=True,
        erasure=DELETE,
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypeOtherDiagnosticData", (APP_FUNCTIONALITY,), linked=True
        ),
    ),
    Category(
        key="requests",
        name=Text(
            zh="您向我们提出的请求(类型、渠道、日期、核验与办理记录)",
            en="requests you send us (kind, channel, dates, verification and handling notes)",
        ),
        section="1.5",
        purpose=Text(
            zh="办理您的访问、更正、删除等请求并证明已依法办理",
            en="handle your access, correction and deletion requests and prove they were handled",
        ),
        legal_basis=LEGAL_OBLIGATION,
        stored_in=("PostgreSQL privacy_requests",),
        retention=RECORDS,
        recipients=(),
        exported=True,
        erasure=Erasure("retain", ACCOUNTABILITY_RECORDS),
        apple=AppleDisclosure(
            "NSPrivacyCollectedDataTypeCustomerSupport", (APP_FUNCTIONALITY,), linked=True
        ),
        subjects=("users", "requesters"),
    ),
    TRANSFER_CATEGORY,
    CONSENT_CATEGORY,
)

REQUESTS_DISCLOSURE = Disclosure(
    number="1.5",
    title=Text(zh="您向我们提出的请求", en="Requests You Send Us"),
    purpose=Text(
        zh="办理您行使个人信息权利的请求,并证明已依法办理。",
        en="handle the requests you make to exercise your rights, and prove they were handled.",
    ),
    types=Text(
        zh="请求类型、提出渠道(邮件或 App 内)、日期、身份核验与办理记录。",
        en="request kind, channel (e-mail or in-app), dates, identity verification and handling "
        "notes.",
    ),
    handling=Text(
        zh="记录于我们的请求登记册(PostgreSQL 数据库),仅用于办理请求及证明合规。",
        en="recorded in our request register (PostgreSQL database), used only to handle the "
        "request and prove compliance.",
    ),
)

DISCLOSURES = (
    Disclosure(
        number="1.1",
        title=Text(
            zh="账号信息(通过 Sign in with Apple / Logto 登录)",
            en="Account Information (Sign in with Apple / Logto)",
        ),
        purpose=Text(
            zh="提供注册登录、积分余额查询、生成记录关联、跨设备同步等核心功能。",
            en="registration, sign-in, credits ledger lookup, generation history association, "
            "cross-device sync.",
        ),
        types=Text(
            zh="由 Apple 颁发的稳定用户标识(user identifier)、您选择性提供的邮箱(Apple "
            "可能返回私有中继邮箱)、显示名称;以及由我们的自托管身份服务 Logto 颁发的 JWT 令牌。",
            en="a stable user identifier issued by Apple, an optional email (which may be "
            "Apple's private relay), a display name; plus a JWT issued by our self-hosted Logto "
            "identity service.",
        ),
        handling=Text(
            zh="账号唯一标识与上述 JWT 中的 sub 字段绑定,存储于我们位于中国境内的服务器"
            "(PostgreSQL 数据库)。我们不会获取您的 Apple ID 密码,亦不会主动解析或对外传输您的"
            "真实邮箱。",
            en="the identifier is bound to the JWT's sub claim and stored in our PostgreSQL "
            "database located in mainland China. We never receive your Apple ID password, nor "
            "do we attempt to resolve or share your real email.",
        ),
    ),
    Disclosure(
        number="1.2",
        title=Text(zh="图片素材与生成参数", en="Image Inputs & Generation Parameters"),
        purpose=Text(
            zh="将您选择的静态图片作为输入,生成 AI Live Photo 短视频。",
            en="turn a still image you selected into a short AI Live Photo video.",
        ),
        types=Text(
            zh="您主动从相册中选择上传的图片(jpg/png/heic)、您输入的提示词(prompt)、运镜与"
            "时长等参数。",
            en="images you actively pick from your Photos library (jpg/png/heic), prompts, "
            "camera-motion / duration settings.",
        ),
        handling=Text(
            zh="图片以加密 HTTPS 上传至我们的服务器({api_host}),随后以 base64 或临时 URL "
            '的形式传递给下方"第三方服务"小节(§3)列出的视频生成供应商。生成任务完成后,原始素材在'
            "我们服务器上的临时存储最长保留 {upload_retention_days} 天,超出后自动删除。生成的"
            "视频结果 URL 与任务参数关联到您的账号保存,您可随时在 App 内删除作品记录(保留期限"
            "见下)。",
            en="images are uploaded over HTTPS to our server ({api_host}) and forwarded as "
            "base64 or a temporary URL to the video-generation providers listed in §3. After "
            "generation, source images are retained on our servers for at most "
            "{upload_retention_days} days before automatic deletion. Result video URLs and task "
            "parameters are kept with your account; you may delete any work record from within "
            "the App at any time (retention below).",
        ),
        note=Text(
            zh="我们不会将您的图片用于训练任何 AI 模型;第三方供应商对数据的处理由其自身隐私"
            "政策约束,详见 §3。",
            en="we do not use your images to train any AI model. Third-party providers handle "
            "data under their own privacy policies — see §3.",
        ),
    ),
    Disclosure(
        number="1.3",
        title=Text(zh="支付与积分信息", en="Payment & Credits"),
        purpose=Text(
            zh="处理 App Store 内购、记录积分变动、防止重复扣款。",
            en="process App Store in-app purchases, record credits changes, prevent "
            "double-charging.",
        ),
        types=Text(
            zh="由 Apple 返回的 IAP 收据(receipt)、商品 ID、交易 ID;积分余额、积分流水"
            "(充值/赠送/消费/退款)。",
            en="the IAP receipt returned by Apple, product ID, transaction ID, credits balance "
            "and ledger entries.",
        ),
        handling=Text(
            zh="收据通过 Apple 官方 verifyReceipt 接口验证,验证成功后落入我们服务器的积分账本。"
            "我们不会收集您的银行卡号、信用卡 CVV 或任何 Apple 支付凭证。",
            en="receipts are verified via Apple's verifyReceipt API and then posted to our "
            "ledger. We never collect bank card numbers, CVV, or Apple Pay tokens.",
        ),
    ),
    Disclosure(
        number="1.4",
        title=Text(zh="设备与运行信息", en="Device & Runtime Data"),
        purpose=Text(
            zh="故障排查、滥用检测、APNs 推送通知(生成完成提醒)。",
            en="troubleshooting, abuse detection, push notifications via APNs.",
        ),
        types=Text(
            zh="请求时的 IP 地址、User-Agent、APNs Device Token、应用版本号、iOS 版本号。",
            en="request IP, User-Agent, APNs device token, app version, iOS version.",
        ),
        handling=Text(
            zh="IP 与 UA 仅写入 nginx 访问日志,保留 {log_retention_days} 天后滚动覆盖;Device "
            "Token 仅用于发送任务结果通知,您可在系统设置中关闭推送权限。",
            en="IPs and UAs are written only to nginx access logs and rotated after "
            "{log_retention_days} days. Device tokens are used only to deliver job-completion "
            "notifications; you may disable push permission at any time in System Settings.",
        ),
    ),
    REQUESTS_DISCLOSURE,
    Disclosure(
        number="1.6",
        title=Text(zh="您的同意记录", en="Your Consent Records"),
        purpose=Text(
            zh="记录您给予与撤回的同意,使处理只按您的同意进行,并能证明同意已依法取得。",
            en="record the consents you give and withdraw, so that processing follows "
            "them and we can prove they were obtained lawfully.",
        ),
        types=Text(
            zh="同意的种类与范围、给予或撤回的时间、当时向您展示的政策版本、来源(App 内或工作人员)"
            "与凭证(应用版本、请求号或工作人员备注)。",
            en="the kind and scope of each consent, when it was given or withdrawn, the policy "
            "version you were shown, the source (in-app or staff) and the evidence (app version, "
            "request id or a staff note).",
        ),
        handling=Text(
            zh="只追加记录于我们的同意记录(PostgreSQL 数据库),在发送照片前核对;撤回后立即停止"
            "后续处理,不影响撤回前已进行的处理。",
            en="appended to our consent records (PostgreSQL database) and checked before a "
            "photo is sent; a withdrawal stops further processing at once and does not affect "
            "processing before it.",
        ),
    ),
)


NOT_COLLECTED = (
    Text(
        zh="您的真实姓名、身份证号、手机号、家庭住址",
        en="Real name, government ID, phone number, postal address",
    ),
    Text(zh="精确地理位置(GPS)", en="Precise geolocation (GPS)"),
    Text(zh="通讯录、短信、通话记录、日历", en="Contacts, SMS, call logs, calendar"),
    Text(
        zh="设备唯一硬件标识(IDFA 关闭,未集成 IDFV 收集)",
        en="Hardware identifiers (IDFA is disabled; IDFV is not collected)",
    ),
    Text(zh="麦克风录音、屏幕录制内容", en="Microphone audio or screen recordings"),
    Text(zh="未经您主动选择的相册照片", en="Any photo not actively selected by you"),
)

APPLE_PRIVACY = "https://www.apple.com/legal/privacy/"
GENERATION = Text(zh="生成视频", en="video generation")
API_CALLS = Text(
    zh="我们的服务器经 HTTPS 调用其 API,以 base64 或临时 URL 传递图片",
    en="our servers call its API over HTTPS, passing images as base64 or a temporary URL",
)
IMAGE_AND_PROMPT = Text(zh="图片、提示词与生成参数", en="image, prompt and generation parameters")

THIRD_PARTIES = (
    ThirdParty(
        key="apple",
        role="independent",
        categories=("apple_user_id",),
        method=Text(
            zh="我们的服务器经 HTTPS 调用 Apple 的接口,兑换并撤销 Sign in with Apple 令牌",
            en="our servers call Apple's endpoints over HTTPS to exchange and revoke Sign in "
            "with Apple tokens",
        ),
        name=Text(zh="Apple", en="Apple"),
        summary=Text(zh="Sign in with Apple 登录。", en="Sign in with Apple."),
        region="overseas",
        purpose=Text(zh="登录", en="sign-in"),
        data_received=Text(
            zh="Sign in with Apple 授权码与令牌",
            en="Sign in with Apple authorization codes and tokens",
        ),
        policy_url=APPLE_PRIVACY,
    ),
    ThirdParty(
        key="logto",
        categories=("apple_user_id", "logto_sub", "email", "display_name"),
        method=Text(zh="自托管身份服务,由我们运营", en="self-hosted identity service we run"),
        name=Text(
            zh="Logto(自托管于 auth.picturebookpedia.cn)",
            en="Logto (self-hosted at auth.picturebookpedia.cn)",
        ),
        summary=Text(
            zh="签发我们的 JWT;由我们自行运营,适用本政策。",
            en="issues our JWTs; operated by us under this same policy.",
        ),
        region="mainland_china",
        purpose=Text(zh="身份认证", en="authentication"),
        data_received=Text(zh="账号标识", en="account identifiers"),
        policy_url=None,
        self_operated=True,
    ),
    ThirdParty(
        key="tencent_cloud",
        categories=tuple(c.key for c in CATEGORIES),
        method=Text(
            zh="托管我们的服务器、PostgreSQL 数据库与对象存储",
            en="hosts our servers, PostgreSQL database and object storage",
        ),
        name=Text(zh="腾讯云", en="Tencent Cloud"),
        summary=Text(
            zh="托管我们的服务器、数据库与对象存储。", en="hosts our servers, database and storage."
        ),
        region="mainland_china",
        purpose=Text(
            zh="服务器、数据库与对象存储托管", en="hosting of servers, database and storage"
        ),
        data_received=Text(zh="我们存储的全部信息", en="everything we store"),
        policy_url=None,
        hosts=True,
    ),
    ThirdParty(
        key="volcengine",
        categories=("photos", "prompts"),
        method=API_CALLS,
        name=Text(
            zh="火山引擎(字节跳动)视频生成 API", en="Volcengine (ByteDance) Video Generation API"
        ),
        summary=Text(zh="接收上传的图片。", en="receives uploaded images."),
        region="mainland_china",
        purpose=GENERATION,
        data_received=IMAGE_AND_PROMPT,
        policy_url=None,
        provider="ark",
    ),
    ThirdParty(
        key="alibaba",
        categories=("photos", "prompts"),
        method=API_CALLS,
        name=Text(zh="阿里云", en="Alibaba Cloud"),
        summary=Text(zh="通义万相 / Qwen-VL。", en="Tongyi Wanxiang / Qwen-VL."),
        region="mainland_china",
        purpose=Text(
            zh="生成视频;使用 Qwen-VL 对上传图片进行内容审核",
            en="video generation; content moderation of uploaded images with Qwen-VL",
        ),
        moderates=True,
        data_received=IMAGE_AND_PROMPT,
        policy_url=None,
        provider="wan",
    ),
    ThirdParty(
        key="fal",
        categories=("photos", "prompts"),
        method=API_CALLS,
        name=Text(zh="Fal.ai", en="Fal.ai"),
        summary=Text(zh="境外 AI 推理平台。", en="overseas AI inference platform."),
        region="overseas",
        purpose=GENERATION,
        data_received=IMAGE_AND_PROMPT,
        policy_url="https://fal.ai/legal/privacy-policy",
        provider="fal",
    ),
    ThirdParty(
        key="kling",
        categories=("photos", "prompts"),
        method=API_CALLS,
        name=Text(zh="可灵 AI(快手)", en="Kling AI (Kuaishou)"),
        summary=Text(zh="主要视频生成供应商。", en="primary video-generation provider."),
        region="mainland_china",
        purpose=GENERATION,
        data_received=IMAGE_AND_PROMPT,
        policy_url=None,
        provider="kling",
    ),
    ThirdParty(
        key="apns",
        categories=("device_token",),
        method=Text(
            zh="我们的服务器经 HTTP/2(TLS)向 APNs 发送推送",
            en="our servers send push requests to APNs over HTTP/2 with TLS",
        ),
        name=Text(zh="Apple 推送通知服务(APNs)", en="Apple Push Notification Service (APNs)"),
        summary=Text(zh="推送送达。", en="push delivery."),
        region="overseas",
        purpose=Text(zh="推送生成完成提醒", en="job-completion notifications"),
        data_received=Text(zh="Device Token 与通知内容", en="device token and notification"),
        policy_url=APPLE_PRIVACY,
    ),
    ThirdParty(
        key="app_store",
        role="independent",
        categories=("iap_receipts",),
        method=Text(
            zh="我们的服务器经 HTTPS 向 Apple 验证收据并查询交易",
            en="our servers verify receipts and look up transactions with Apple over HTTPS",
        ),
        name=Text(zh="App Store 内购", en="App Store In-App Purchase"),
        summary=Text(zh="计费与收据验证。", en="billing and receipt verification."),
        region="overseas",
        purpose=Text(zh="计费与收据验证", en="billing and receipt verification"),
        data_received=Text(zh="收据与交易 ID", en="receipts and transaction ids"),
        policy_url=APPLE_PRIVACY,
    ),
)

RETAIN_AUDIT = Erasure("retain", ACCOUNTABILITY)
AUDIT_LOG = Erasure(
    "retain",
    Text(
        zh="证明账号与请求已依法处理(《个人信息保护法》第五十条;GDPR 第 5(2) 条)。注销时,该用户的"
        "事件被脱敏(redact):删除用户标识与详情(包括已转给假名的记录编号),只留下动作、时间与"
        "链式校验值,因此没有任何事件能把原账号与其假名(pseudonym)关联;注销完成事件只记载注销编号。",
        en="Proof that accounts and requests were handled lawfully (PIPL art. 50; GDPR art. "
        "5(2)). On erasure the user's events are redacted: the user id and the details (with "
        "the ids of rows moved to the pseudonym) are removed, leaving the action, the time and "
        "the chain's hash, so no event links the old account to its pseudonym; the completion "
        "event names only the erasure run.",
    ),
)
ERASURE_RECORD = Erasure(
    "retain",
    Text(
        zh="证明注销已完成:只保留原账号的裸标识、日期与数量;假名、用于核查的标识与所服务的请求在完成时删除。",
        en="Proof that the erasure was done: the run keeps the bare old account id, its dates "
        "and counts; the pseudonym, the identifiers it searched for and the request it served "
        "are dropped when it completes.",
    ),
)

TABLES = (
    TableRule("users", ("email", "display_name"), True, Erasure("pseudonymise", TOMBSTONE)),
    TableRule("identities", ("apple_user_id", "logto_sub"), True, DELETE),
    TableRule("apple_credentials", ("apple_user_id",), False, DELETE),
    TableRule("devices", ("device_token", "app_versions"), True, DELETE),
    TableRule("ledger_accounts", ("credits_ledger",), True, PSEUDONYMISE_ACCOUNTING),
    TableRule("ledger_transfers", ("credits_ledger",), True, PSEUDONYMISE_ACCOUNTING),
    TableRule("purchases", ("iap_receipts",), True, PSEUDONYMISE_ACCOUNTING),
    TableRule("uploads", ("photos",), True, DELETE),
    TableRule("tasks", ("prompts", "result_videos"), True, DELETE),
    TableRule("data_transfers", ("transfer_records",), True, TRANSFER_CATEGORY.erasure),
    TableRule("audit_events", (), False, AUDIT_LOG),
    TableRule("privacy_requests", ("requests",), True, Erasure("retain", ACCOUNTABILITY_RECORDS)),
    TableRule("erasure_runs", (), False, ERASURE_RECORD),
    TableRule("consents", ("consent_records",), True, CONSENT_CATEGORY.erasure),
)

SECURITY = (
    Text(
        zh="服务器通过 SSH 密钥认证、最小权限原则管理;数据库不对公网开放。",
        en="SSH-key only, least-privilege; database not exposed to the public internet.",
    ),
    Text(
        zh="所有涉及用户数据的接口均通过 JWT 验证身份,未持有有效 token 无法访问任何用户数据。",
        en="every user-data endpoint requires a valid JWT.",
    ),
    Text(
        zh="Sign in with Apple 刷新令牌加密存储(Fernet,密钥可轮换)。",
        en="Sign in with Apple refresh tokens are stored encrypted (Fernet, rotatable keys).",
    ),
    Text(
        zh="审计日志只追加、哈希链式相连,任何篡改或删除都会被发现。",
        en="The audit log is append-only and hash-chained, so altering or removing an entry "
        "is detected.",
    ),
)

DEFAULT_INVENTORY = Inventory(
    operator=Operator(
        name="Talent Limited AI Studio",
        app_name="live.ai",
        api_host="liveai-api.picturebookpedia.cn",
        hosting=Text(zh="位于中国大陆的腾讯云服务器", en="Tencent Cloud servers in mainland China"),
    ),
    laws=Text(
        zh="《中华人民共和国个人信息保护法》《中华人民共和国数据安全法》及欧盟《通用数据保护条例》"
        "(GDPR)",
        en="the Personal Information Protection Law (PRC), the Data Security Law (PRC), and the "
        "General Data Protection Regulation (EU GDPR)",
    ),
    categories=CATEGORIES,
    disclosures=DISCLOSURES,
    not_collected=NOT_COLLECTED,
    third_parties=THIRD_PARTIES,
    tables=TABLES,
    min_age=17,
    child_age=14,
    sla_working_days=SLA_WORKING_DAYS,
    transport="TLS 1.2 / 1.3",
    security=SECURITY,
)
