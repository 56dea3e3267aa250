export default { name: 'SettingsView', template: '<p>SettingsView</p>' };
