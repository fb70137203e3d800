# dotstub as a system service on Windows: a task that starts at boot under the SYSTEM account and is restarted
# when it fails (Node is not a service binary, so the service control manager cannot run it directly).
# `dotstub service install` registers the same task; this script does it by hand. Run it from an elevated
# PowerShell:  powershell -ExecutionPolicy Bypass -File packaging\windows\install-service.ps1
param(
  # node.exe; by default the one on PATH.
  [string]$Node = (Get-Command node.exe -ErrorAction Stop).Source,
  # dotstub's bundled bin, dist\src\cli\dotstub.mjs; by default the one of this checkout.
  [string]$Main = (Join-Path $PSScriptRoot '..\..\dist\src\cli\dotstub.mjs' | Resolve-Path).Path,
  [string]$Config = (Join-Path $env:ProgramData 'dotstub\config.json')
)
$ErrorActionPreference = 'Stop'

# The system config: an empty object means the embedded defaults. An existing one is left alone.
if (-not (Test-Path $Config)) {
  New-Item -ItemType Directory -Force -Path (Split-Path $Config) | Out-Null
  Set-Content -Path $Config -Value '{}' -Encoding ascii
}

$arguments = '"{0}" run --config "{1}" --control "\\.\pipe\dotstub-control"' -f $Main, $Config
$action = New-ScheduledTaskAction -Execute $Node -Argument $arguments -WorkingDirectory 'C:\'
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit (New-TimeSpan -Seconds 0) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Stop-ScheduledTask -TaskName 'dotstub' -ErrorAction SilentlyContinue
# -Force replaces an earlier registration: running this twice gives the same task.
Register-ScheduledTask -TaskName 'dotstub' -Description 'dotstub DNS-over-TLS stub resolver' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName 'dotstub'
Write-Output "dotstub runs at startup as SYSTEM ($Node $arguments)"
