/**
 * The service definitions, one per init system, from the paths of the node and dotstub they run. The files in
 * packaging/ are these with the paths of a manual install (a test keeps them equal).
 */

export interface ServicePaths {
  /** The node executable. */
  readonly node: string;
  /** dotstub's bundled bin, dist/src/cli/dotstub.mjs (or main.js, unbundled). */
  readonly main: string;
  /** The system config file the service reads. */
  readonly config: string;
  /** The system control socket (or named pipe). */
  readonly control: string;
}

export const SYSTEMD_UNIT_NAME = 'dotstub.service';
export const LAUNCHD_LABEL = 'org.dotstub.dotstub';
export const WINDOWS_TASK = 'dotstub';

/**
 * Runs as a dynamic unprivileged user: CAP_NET_BIND_SERVICE is the only privilege, to bind port 53. systemd makes
 * /run/dotstub for the control socket and /var/lib/dotstub for state, owned by that user. SIGHUP asks the daemon to
 * reload its configuration.
 */
export function systemdUnit(p: ServicePaths): string {
  return `# dotstub as a system service (Linux, systemd), as \`sudo dotstub service install\` writes it.
# By hand: put dotstub under /opt/dotstub (or change ExecStart), then
#   sudo cp dotstub.service /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now dotstub
# It runs unprivileged; CAP_NET_BIND_SERVICE is the only privilege it gets, to bind port 53.
[Unit]
Description=dotstub DNS-over-TLS stub resolver
Documentation=https://github.com/dotstub/dotstub#readme
After=network.target
Before=nss-lookup.target
Wants=nss-lookup.target

[Service]
Type=simple
ExecStart=${p.node} ${p.main} run --config ${p.config} --control ${p.control}
ExecReload=/bin/kill -HUP $MAINPID
WorkingDirectory=/
DynamicUser=yes
StateDirectory=dotstub
RuntimeDirectory=dotstub
RuntimeDirectoryMode=0755
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;
}

const xml = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * launchd starts it as root at boot (RunAtLoad) so it can make /var/run/dotstub and bind port 53; the daemon then
 * drops to an unprivileged user. KeepAlive restarts it when it fails, not after a clean stop.
 */
export function launchdPlist(p: ServicePaths): string {
  const args = [p.node, p.main, 'run', '--config', p.config, '--control', p.control];
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- dotstub as a system service (macOS, launchd), as \`sudo dotstub service install\` writes it to
     /Library/LaunchDaemons/${LAUNCHD_LABEL}.plist -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args.map((a) => `    <string>${xml(a)}</string>`).join('\n')}
  </array>
  <key>WorkingDirectory</key>
  <string>/</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardOutPath</key>
  <string>/var/log/dotstub.log</string>
  <key>StandardErrorPath</key>
  <string>/var/log/dotstub.log</string>
</dict>
</plist>
`;
}

const ps = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * Node is not a Windows service binary (the service control manager would kill it), so dotstub runs as a task
 * at startup under the SYSTEM account, restarted when it fails. -Force makes registering again a replacement.
 */
export function windowsTaskScript(p: ServicePaths): string {
  const args = `"${p.main}" run --config "${p.config}" --control "${p.control}"`;
  return `$action = New-ScheduledTaskAction -Execute ${ps(p.node)} -Argument ${ps(args)} -WorkingDirectory ${ps('C:\\')}
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit (New-TimeSpan -Seconds 0) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Register-ScheduledTask -TaskName ${ps(WINDOWS_TASK)} -Description 'dotstub DNS-over-TLS stub resolver' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null`;
}
