"""Adobe Commerce (Magento 2) connection: REST client, ping checks, webhook verification and a sandbox.

Authentication offered:
- PaaS / Commerce Cloud / on-prem: an Integration's four credentials, every request signed with OAuth 1.0a
  (HMAC-SHA256 by default, HMAC-SHA1 as an option). The integration access token as a plain bearer token is
  an explicit opt-in (`auth_mode=bearer`): Magento 2.4.4 and later refuse it unless the merchant enables
  `oauth/consumer/enable_integration_as_bearer`, and `ml-connector ping` explains the resulting 401.
- Adobe Commerce as a Cloud Service (SaaS): Adobe IMS server-to-server credentials (client_credentials,
  scope commerce.accs); the ~24 h token is kept in the vault and renewed at 23 h or after a 401.

Admin-token authentication (`POST /V1/integration/admin/token`) is deliberately NOT offered: admin tokens
expire after 4 hours and need two-factor authentication since 2.4.0, so an unattended connector cannot
renew them; SaaS does not offer them at all.

Modules: `config` (connection settings, URL building), `client` (AdobeClient and the typed searches),
`search` (searchCriteria builder), `paging` (total_count paging, incremental reads), `models`, `errors`,
`auth` and `ims` (bearer and IMS auths), `ping`, `webhooks`, and `sandbox` (a stateful fake shop).
"""
