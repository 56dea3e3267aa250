export default { name: 'SetupAssistant', template: '<p>SetupAssistant</p>' };
